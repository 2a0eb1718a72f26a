/* The archiving web sample of /work/shared/spec/001_*.txt: startArchive() and stopArchive() as
   the spec shows them (jQuery $.post to the web service), viewArchive() going to the service's
   /archive/:id/view, and the session plumbing they need (credentials from the service's
   GET /session, archiveStarted giving the archive ID). */
var apiKey;
var sessionId;
var token;
var session;
var archiveID;

function startArchive() {
  $.post(SAMPLE_SERVER_BASE_URL + '/archive/start', {'sessionId': sessionId}, null, 'json');
  $('#start').hide();
  $('#stop').show();
}

function stopArchive() {
  $.post(SAMPLE_SERVER_BASE_URL + '/archive/' + archiveID + '/stop');
  $('#stop').hide();
  $('#view').prop('disabled', false);
  $('#stop').show();
}

function viewArchive() {
  $('#view').prop('disabled', true);
  window.location = SAMPLE_SERVER_BASE_URL + '/archive/' + archiveID + '/view';
}

function initializeSession() {
  session = OT.initSession(apiKey, sessionId);
  session.on('streamCreated', function (event) {
    session.subscribe(event.stream, 'subscriber', {insertMode: 'append', width: '100%', height: '100%'});
  });
  session.on('archiveStarted', function (event) {
    archiveID = event.id;
    $('#start').hide();
    $('#stop').show();
  });
  session.on('archiveStopped', function (event) {
    archiveID = event.id;
    $('#start').show();
    $('#stop').hide();
  });
  session.connect(token, function (error) {
    if (error) {
      console.error(error);
      return;
    }
    var publisher = OT.initPublisher('publisher', {insertMode: 'append', width: '100%', height: '100%'});
    session.publish(publisher);
  });
}

$.get(SAMPLE_SERVER_BASE_URL + '/session', function (res) {
  apiKey = res.apiKey;
  sessionId = res.sessionId;
  token = res.token;
  initializeSession();
}, 'json');
