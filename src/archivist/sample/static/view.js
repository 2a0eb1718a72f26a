/*
 * /archive/{id}/view while the archive is not available yet: poll the sample app's
 * /archive/{id} (JSON) and play the recording as soon as it is available.
 * window.ViewState exposes the state for tests.
 */
(function () {
  'use strict';

  var viewer = document.getElementById('viewer');
  var id = viewer.getAttribute('data-archive-id');
  var statusEl = document.getElementById('view-status');
  var statusWord = document.getElementById('view-archive-status');
  var player = document.getElementById('player');
  var state = window.ViewState = { id: id, status: viewer.getAttribute('data-status'), state: 'waiting', polls: 0 };
  var FINAL_FAILURES = { failed: 'The recording failed', deleted: 'The archive was deleted', expired: 'The archive expired' };

  function say(text, kind) {
    statusEl.textContent = text;
    statusEl.setAttribute('data-state', kind);
    statusEl.className = 'notice' + (kind === 'failed' ? ' error' : kind === 'playing' ? ' ok' : '');
    state.state = kind;
  }

  function play(archive) {
    player.hidden = false;
    player.src = archive.url;
    say('The archive is available: playing it.', 'playing');
    var attempt = player.play();
    if (attempt && attempt.catch) {
      attempt.catch(function () {
        // Autoplay with sound needs a user gesture in most browsers: play muted, unmute on click.
        player.muted = true;
        player.play().catch(function () { say('The archive is available: press play.', 'playing'); });
        say('The archive is available: playing it muted (click the video to unmute).', 'playing');
        player.addEventListener('click', function () { player.muted = false; }, { once: true });
      });
    }
  }

  function poll() {
    state.polls += 1;
    fetch('/archive/' + encodeURIComponent(id), { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; }); })
      .then(function (res) {
        if (!res.ok) {
          if (res.status === 404) { say('This archive does not exist.', 'failed'); return; }
          say('Cannot check the archive right now (' + (res.body.message || res.status) + '); retrying…', 'waiting');
          setTimeout(poll, 3000);
          return;
        }
        var archive = res.body;
        state.status = archive.status;
        statusWord.textContent = archive.status;
        if (archive.available && archive.url) { play(archive); return; }
        if (FINAL_FAILURES[archive.status]) {
          say(FINAL_FAILURES[archive.status] + (archive.reason ? ' (' + archive.reason + ')' : '') + '.', 'failed');
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () {
        say('Cannot reach the sample app; retrying…', 'waiting');
        setTimeout(poll, 3000);
      });
  }

  if (FINAL_FAILURES[state.status]) say(FINAL_FAILURES[state.status] + '.', 'failed');
  else poll();
})();
