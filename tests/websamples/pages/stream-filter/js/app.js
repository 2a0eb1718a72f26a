/* The camera drawn through a filter onto a canvas, the canvas track published as videoSource
   and the microphone track as audioSource (both from OT.getUserMedia): what the Stream-Filter
   sample does. */
let apiKey;
let sessionId;
let token;

function filteredCanvas(mediaStream) {
  const video = document.createElement('video');
  video.srcObject = mediaStream;
  video.setAttribute('playsinline', '');
  video.muted = true;
  setTimeout(() => video.play());
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  const scratch = document.createElement('canvas');
  const scratchCtx = scratch.getContext('2d', { willReadFrequently: true });
  canvas.width = scratch.width = 640;
  canvas.height = scratch.height = 480;
  video.addEventListener('resize', () => {
    canvas.width = scratch.width = video.videoWidth;
    canvas.height = scratch.height = video.videoHeight;
  });
  let frame;
  function draw() {
    scratchCtx.drawImage(video, 0, 0, scratch.width, scratch.height);
    const filtered = Filters.selectedFilter(scratchCtx.getImageData(0, 0, scratch.width, scratch.height));
    ctx.putImageData(filtered, 0, 0);
    frame = requestAnimationFrame(draw);
  }
  frame = requestAnimationFrame(draw);
  return {
    canvas,
    stop() {
      video.pause();
      mediaStream.getTracks().forEach((t) => t.stop());
      cancelAnimationFrame(frame);
    },
  };
}

function handleError(error) {
  if (error) console.error('Received an error', error);
}

function initializeSession() {
  const session = OT.initSession(apiKey, sessionId);
  session.on('streamCreated', (event) => {
    session.subscribe(event.stream, 'subscriber', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  });
  session.on('sessionDisconnected', (event) => {
    console.log('disconnected from the session', event.reason);
  });
  OT.getUserMedia().then((mediaStream) => {
    const filtered = filteredCanvas(mediaStream);
    const publisher = OT.initPublisher('publisher', {
      insertMode: 'append',
      width: '100%',
      height: '100%',
      videoSource: filtered.canvas.captureStream(30).getVideoTracks()[0],
      audioSource: mediaStream.getAudioTracks()[0],
    }, (err) => {
      if (err) {
        filtered.stop();
        handleError(err);
        return;
      }
      session.connect(token, (error) => {
        if (error) handleError(error);
        else session.publish(publisher, handleError);
      });
    });
    publisher.on('destroyed', () => filtered.stop());
    publisher.on('streamCreated', () => {
      publisher.element.dataset.streamCreated = true;
    });
  });
}

if (API_KEY && TOKEN && SESSION_ID) {
  apiKey = API_KEY;
  sessionId = SESSION_ID;
  token = TOKEN;
  initializeSession();
} else if (SAMPLE_SERVER_BASE_URL) {
  fetch(`${SAMPLE_SERVER_BASE_URL}/session`)
    .then((response) => response.json())
    .then((json) => {
      ({ apiKey, sessionId, token } = json);
      initializeSession();
    })
    .catch((error) => {
      handleError(error);
      alert('Could not get the session credentials: check config.js.');
    });
}
