/*
 * Past archives: play an archive in the page, and refresh the list when an archive that is
 * still being recorded or processed changes status (it becomes available shortly after it stops).
 */
(function () {
  'use strict';

  var box = document.getElementById('player-box');
  var player = document.getElementById('player');
  var title = document.getElementById('player-title');

  function play(id, name) {
    box.hidden = false;
    title.textContent = name || id;
    player.src = '/download/' + encodeURIComponent(id);
    player.play().catch(function () { /* the user presses play */ });
    box.scrollIntoView({ block: 'nearest' });
  }

  document.addEventListener('click', function (event) {
    var target = event.target.closest('[data-play]');
    if (!target) return;
    event.preventDefault();
    var row = target.closest('tr');
    var name = target.getAttribute('data-title') || (row && row.querySelector('.name') ? row.querySelector('.name').firstChild.textContent : '');
    play(target.getAttribute('data-play'), name);
  });
  document.getElementById('player-close').addEventListener('click', function () {
    player.pause();
    player.removeAttribute('src');
    player.load();
    box.hidden = true;
  });

  var pending = Array.prototype.slice.call(document.querySelectorAll('tr.archive[data-pending="true"]'));
  if (!pending.length) return;

  function check() {
    if (!player.paused) { setTimeout(check, 2000); return; }  // never reload under a playing video
    Promise.all(pending.map(function (row) {
      return fetch('/archive/' + encodeURIComponent(row.getAttribute('data-id')), {
        headers: { Accept: 'application/json' }, cache: 'no-store'
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (a) { return a && a.status !== row.getAttribute('data-status'); })
        .catch(function () { return false; });
    })).then(function (changed) {
      if (changed.some(Boolean)) window.location.reload();
      else setTimeout(check, 2000);
    });
  }
  setTimeout(check, 2000);
})();
