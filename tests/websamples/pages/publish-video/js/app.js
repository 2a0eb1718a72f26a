/* Publishes the tracks of a playing <video> (captureStream) as custom sources, fitMode contain:
   what the Publish-Video sample does. */
let apiKey;
let sessionId;
let token;
const videoEl = document.querySelector('#video');

function handleError(error) {
  if (error) console.error(error);
}

function initializeSession() {
  const stream = videoEl.captureStream();
  const session = OT.initSession(apiKey, sessionId);
  session.on('streamCreated', (event) => {
    session.subscribe(event.stream, 'subscriber', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  });
  session.on('sessionDisconnected', (event) => {
    console.log('disconnected from the session', event.reason);
  });

  let publisher;
  function publish() {
    const videoTracks = stream.getVideoTracks();
    const audioTracks = stream.getAudioTracks();
    if (publisher || videoTracks.length === 0) return;
    stream.removeEventListener('addtrack', publish);
    publisher = OT.initPublisher('publisher', {
      videoSource: videoTracks[0],
      audioSource: audioTracks[0],
      fitMode: 'contain',
      width: 320,
      height: 240,
    }, (err) => {
      if (err) {
        videoEl.pause();
        handleError(err);
        return;
      }
      videoEl.play();
      session.connect(token, (error) => {
        if (error) handleError(error);
        else session.publish(publisher, handleError);
      });
    });
    publisher.on('destroyed', () => videoEl.pause());
  }
  stream.addEventListener('addtrack', publish);
  publish();
}

function start() {
  if (!videoEl.captureStream) alert('This browser has no HTMLMediaElement.captureStream().');
  else initializeSession();
}

if (API_KEY && TOKEN && SESSION_ID) {
  apiKey = API_KEY;
  sessionId = SESSION_ID;
  token = TOKEN;
  start();
} else if (SAMPLE_SERVER_BASE_URL) {
  fetch(`${SAMPLE_SERVER_BASE_URL}/session`)
    .then((response) => response.json())
    .then((json) => {
      ({ apiKey, sessionId, token } = json);
      start();
    })
    .catch((error) => {
      handleError(error);
      alert('Could not get the session credentials: check config.js.');
    });
}
