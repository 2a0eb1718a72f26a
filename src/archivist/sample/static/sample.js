/*
 * The host and participant views: connect with archivist.js (the OpenTok.js-shaped client),
 * publish the camera and microphone, show everyone else, and show a big red indicator while
 * the session is being recorded. The host also starts and stops archiving through the sample
 * app's server (which calls the REST API with the official SDK).
 *
 * window.SampleState exposes what the page knows, for people poking in the console and for tests.
 */
(function () {
  'use strict';

  var root = document.getElementById('app');
  var cfg = root.dataset;
  var isHost = cfg.role === 'host';
  var $ = function (id) { return document.getElementById(id); };

  var state = window.SampleState = {
    role: cfg.role,
    connected: false,
    connectionId: null,
    streamId: null,
    subscribed: [],
    archiving: false,
    archiveId: null,
    archiveSource: null,
    errors: []
  };

  function show(text, kind) {
    var m = $('message');
    m.textContent = text;
    m.className = 'notice' + (kind ? ' ' + kind : '');
    m.hidden = !text;
  }

  function fail(what, error) {
    var text = what + ': ' + (error && (error.message || error)) + (error && error.code ? ' (' + error.code + ')' : '');
    state.errors.push(text);
    show(text, 'error');
  }

  // The big red indicator. `source` says what told us: 'event' (archiveStarted/archiveStopped
  // pushed by the server to every client) or 'rest' (the host's start/stop answer).
  function setArchiving(on, archiveId, source) {
    state.archiving = !!on;
    state.archiveSource = source;
    if (archiveId) state.archiveId = archiveId;
    var ind = $('recording');
    ind.hidden = !on;
    ind.setAttribute('data-recording', on ? 'true' : 'false');
    ind.setAttribute('data-source', source);
    if (isHost) {
      $('start').hidden = !!on;
      $('stop').hidden = !on;
      $('stop').disabled = false;
      $('start').disabled = !state.connected;
      if (!on && state.archiveId) {
        var view = $('view');
        view.href = '/archive/' + encodeURIComponent(state.archiveId) + '/view';
        view.hidden = false;
      }
    }
  }

  if (typeof OT === 'undefined') {
    fail('Cannot load the client library', 'is the Archivist server reachable?');
    return;
  }
  if (!OT.checkSystemRequirements()) {
    fail('This browser cannot publish', 'it lacks WebRTC');
    return;
  }

  var session = OT.initSession(cfg.apiKey, cfg.sessionId);
  state.session = session;

  function updateNobody() {
    var nobody = $('nobody');
    if (nobody) nobody.hidden = state.subscribed.length > 0;
  }

  session.on({
    streamCreated: function (event) {
      var stream = event.stream;
      var who = '';
      try { who = JSON.parse(stream.connection.data || '{}').name || ''; } catch (e) { /* plain data */ }
      session.subscribe(stream, 'subscribers', {
        insertMode: 'append', width: 320, height: 240, name: stream.name || who
      }, function (error) {
        if (error) fail('Cannot show a stream', error);
        else {
          state.subscribed.push(stream.streamId);
          updateNobody();
        }
      });
    },
    streamDestroyed: function (event) {
      state.subscribed = state.subscribed.filter(function (id) { return id !== event.stream.streamId; });
      updateNobody();
    },
    archiveStarted: function (event) { setArchiving(true, event.id, 'event'); },
    archiveStopped: function (event) { setArchiving(false, event.id, 'event'); },
    sessionDisconnected: function (event) {
      state.connected = false;
      show('Disconnected from the session (' + event.reason + '). Reload the page to join again.', 'error');
      if (isHost) $('start').disabled = true;
    }
  });

  var publisher = OT.initPublisher('publisher', {
    name: cfg.name, width: 480, height: 360, insertMode: 'replace'
  }, function (error) {
    if (error) fail('Cannot use the camera and microphone', error);
  });
  publisher.on('streamCreated', function (event) { state.streamId = event.stream.streamId; });

  session.connect(cfg.token, function (error) {
    if (error) { fail('Cannot connect to the session', error); return; }
    state.connected = true;
    state.connectionId = session.connection.connectionId;
    if (isHost) $('start').disabled = state.archiving;
    session.publish(publisher, function (err) {
      if (err) fail('Cannot publish', err);
    });
  });

  if (!isHost) return;

  // The Ruby sample's host buttons: the app server starts and stops the archive with the SDK.
  function call(url) {
    return fetch(url, { method: 'POST', headers: { Accept: 'application/json' } }).then(function (r) {
      return r.json().catch(function () { return { code: r.status, message: r.statusText }; })
        .then(function (body) {
          if (!r.ok) throw body;
          return body;
        });
    });
  }

  $('start').addEventListener('click', function () {
    $('start').disabled = true;
    show('');
    call('/start').then(function (archive) {
      setArchiving(archive.status === 'started' || archive.status === 'paused', archive.id, 'rest');
    }).catch(function (error) {
      $('start').disabled = false;
      fail('Cannot start archiving', error);
    });
  });

  $('stop').addEventListener('click', function () {
    if (!state.archiveId) return;
    $('stop').disabled = true;
    call('/stop/' + encodeURIComponent(state.archiveId)).then(function (archive) {
      setArchiving(false, archive.id, 'rest');
      show('Archive stopped. It will be in the past archives shortly.', 'ok');
    }).catch(function (error) {
      $('stop').disabled = false;
      fail('Cannot stop archiving', error);
    });
  });
})();
