/* Connect, publish the camera, subscribe to every other stream: what the Basic Video Chat
   sample does, written for Archivist's tests. */
let apiKey;
let sessionId;
let token;

function handleError(error) {
  if (error) console.error(error);
}

function initializeSession() {
  const session = OT.initSession(apiKey, sessionId);
  session.on('streamCreated', (event) => {
    session.subscribe(event.stream, 'subscriber', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  });
  session.on('sessionDisconnected', (event) => {
    console.log('disconnected from the session', event.reason);
  });
  const publisher = OT.initPublisher('publisher', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  session.connect(token, (error) => {
    if (error) handleError(error);
    else session.publish(publisher, handleError);
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
