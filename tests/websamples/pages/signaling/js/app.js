/* Text chat over signals (type 'msg'), besides the video chat: what the Signaling sample does. */
let apiKey;
let session;
let sessionId;
let token;

function handleError(error) {
  if (error) console.error(error);
}

function initializeSession() {
  session = OT.initSession(apiKey, sessionId);
  session.on('streamCreated', (event) => {
    session.subscribe(event.stream, 'subscriber', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  });
  session.on('sessionDisconnected', (event) => {
    console.error('disconnected from the session', event.reason);
  });
  const publisher = OT.initPublisher('publisher', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  session.connect(token, (error) => {
    if (error) handleError(error);
    else session.publish(publisher, handleError);
  });
  const history = document.querySelector('#history');
  session.on('signal:msg', (event) => {
    const line = document.createElement('p');
    line.textContent = event.data;
    line.className = event.from.connectionId === session.connection.connectionId ? 'mine' : 'theirs';
    history.appendChild(line);
    line.scrollIntoView();
  });
}

const form = document.querySelector('form');
const msgTxt = document.querySelector('#msgTxt');
form.addEventListener('submit', (event) => {
  event.preventDefault();
  session.signal({ type: 'msg', data: msgTxt.value }, (error) => {
    if (error) handleError(error);
    else msgTxt.value = '';
  });
});

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
