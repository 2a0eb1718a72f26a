/* Start / Stop Archive buttons calling the web service, the buttons following archiveStarted /
   archiveStopped, and a View Archive link: what the Archiving sample does. */
let apiKey;
let sessionId;
let token;
let archive;

const startBtn = document.querySelector('#start');
const stopBtn = document.querySelector('#stop');
const archiveLink = document.querySelector('#archiveLink');
stopBtn.style.display = 'none';

function handleError(error) {
  if (error) console.error(error);
}

function initializeSession() {
  const session = OT.initSession(apiKey, sessionId);
  session.on('streamCreated', (event) => {
    session.subscribe(event.stream, 'subscriber', { insertMode: 'append', width: '100%', height: '100%' }, handleError);
  });
  session.on('archiveStarted', (event) => {
    archive = event;
    console.log(`archive started ${archive.id}`);
    startBtn.style.display = 'none';
    stopBtn.style.display = 'inline';
    archiveLink.innerHTML = '';
  });
  session.on('archiveStopped', (event) => {
    archive = event;
    console.log(`archive stopped ${archive.id}`);
    startBtn.style.display = 'inline';
    stopBtn.style.display = 'none';
    archiveLink.innerHTML = `<a href="${SAMPLE_SERVER_BASE_URL}/archive/${archive.id}/view" target="_blank">View Archive</a>`;
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

async function postJson(url, data) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(data),
    });
    if (!response.ok) throw new Error(`the service answered ${response.status}`);
    return response.json();
  } catch (error) {
    handleError(error);
    return undefined;
  }
}

async function startArchiving() {
  archive = await postJson(`${SAMPLE_SERVER_BASE_URL}/archive/start`, { sessionId });
  if (!archive || archive.status !== 'started') handleError(archive && archive.error);
}

async function stopArchiving() {
  archive = await postJson(`${SAMPLE_SERVER_BASE_URL}/archive/${archive.id}/stop`, {});
  if (!archive || archive.status !== 'stopped') handleError(archive && archive.error);
}

startBtn.addEventListener('click', startArchiving, false);
stopBtn.addEventListener('click', stopArchiving, false);

if (SAMPLE_SERVER_BASE_URL) {
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
