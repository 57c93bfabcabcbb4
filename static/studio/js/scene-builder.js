// The scene builder: drag and drop of shots, trim scrubbers, and the player.
//
// Drag and drop only reorders the list and submits the page's reorder form
// (data-reorder-form); the Earlier / Later buttons are plain forms that do the
// same without JS. The scrubbers keep in before out and show the values; the
// server checks them again. The player plays the shots as one sequence with
// two <video> elements: while one plays, the other has the next shot loaded
// and sought to its in point, so the cut is a swap, not a load.
(function () {
  "use strict";

  var MIN_LENGTH = 0.05;

  function initBuilder(list) {
    if (list.dataset.sceneBuilderReady) return;
    list.dataset.sceneBuilderReady = "1";
    var form = document.getElementById(list.dataset.reorderForm);
    var dragged = null;

    list.addEventListener("dragstart", function (event) {
      var item = event.target.closest && event.target.closest("li[data-shot-id]");
      if (!item) return;
      dragged = item;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.dataset.shotId);
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var over = event.target.closest && event.target.closest("li[data-shot-id]");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
    });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      if (!form) return;
      var ids = Array.prototype.map.call(list.querySelectorAll("li[data-shot-id]"), function (li) {
        return li.dataset.shotId;
      });
      form.elements.order.value = ids.join(",");
      form.requestSubmit();
    });
    keepMoveFocus(list);
  }

  // Earlier / Later reload the page; focus comes back to the same button of the
  // moved shot, so a keyboard user moves a shot several places with Enter, Enter.
  var MOVED_KEY = "studio.sceneBuilder.moved";

  function keepMoveFocus(list) {
    list.addEventListener("submit", function (event) {
      var direction = event.target.elements && event.target.elements.direction;
      var item = event.target.closest("li[data-shot-id]");
      if (!direction || !item) return;
      try {
        sessionStorage.setItem(MOVED_KEY, JSON.stringify({ shot: item.dataset.shotId, direction: direction.value }));
      } catch (e) { /* storage off: focus simply starts at the top */ }
    });
    var moved = null;
    try {
      moved = JSON.parse(sessionStorage.getItem(MOVED_KEY) || "null");
      sessionStorage.removeItem(MOVED_KEY);
    } catch (e) { return; }
    if (!moved) return;
    var item = list.querySelector('li[data-shot-id="' + moved.shot + '"]');
    if (!item) return;
    var buttons = Array.prototype.filter.call(item.querySelectorAll("form"), function (f) {
      return f.elements.direction;
    }).map(function (f) { return f.querySelector("button"); });
    var same = buttons.filter(function (b) {
      return b.closest("form").elements.direction.value === moved.direction;
    })[0];
    var target = same && !same.disabled ? same : buttons.filter(function (b) { return !b.disabled; })[0];
    if (target) target.focus();
  }

  function initTrim(form) {
    if (form.dataset.trimReady) return;
    form.dataset.trimReady = "1";
    var start = form.querySelector("[data-trim-in]");
    var end = form.querySelector("[data-trim-out]");
    function show() {
      form.querySelector('[data-trim-label="in"]').textContent = Number(start.value).toFixed(2);
      form.querySelector('[data-trim-label="out"]').textContent = Number(end.value).toFixed(2);
    }
    start.addEventListener("input", function () {
      if (Number(start.value) > Number(end.value) - MIN_LENGTH) {
        start.value = Math.max(0, Number(end.value) - MIN_LENGTH);
      }
      show();
    });
    end.addEventListener("input", function () {
      if (Number(end.value) < Number(start.value) + MIN_LENGTH) {
        end.value = Number(start.value) + MIN_LENGTH;
      }
      show();
    });
  }

  function initPlayer(player) {
    if (player.dataset.scenePlayerReady) return;
    player.dataset.scenePlayerReady = "1";
    var videos = player.querySelectorAll("[data-scene-video]");
    var button = document.querySelector("[data-scene-play]");
    var status = document.querySelector("[data-scene-status]");
    var shots = Array.prototype.map
      .call(document.querySelectorAll(player.dataset.shots + " li[data-src]"), function (li) {
        return { src: li.dataset.src, start: Number(li.dataset.in), end: Number(li.dataset.out) };
      });
    var index = -1;
    var active = 0;
    var running = false;

    function cue(video, shot) {
      if (!shot) return;
      video.dataset.cued = "";
      var seek = function () {
        video.currentTime = shot.start;
        video.dataset.cued = shot.src + "#" + shot.start;
      };
      if (video.getAttribute("src") === shot.src && video.readyState >= 1) {
        seek();
      } else {
        video.addEventListener("loadedmetadata", seek, { once: true });
        video.src = shot.src;
        video.load();
      }
    }

    function show(number) {
      player.dataset.playingIndex = String(number);
      if (status) status.textContent = "Shot " + (number + 1) + " of " + shots.length;
    }

    function next() {
      var current = videos[active];
      index += 1;
      if (index >= shots.length) {
        current.pause();
        running = false;
        player.dataset.finished = "1";
        if (button) button.textContent = "Play again";
        return;
      }
      var upcoming = videos[1 - active];
      if (index > 0) {
        // The next shot is already loaded and sought in the other element: swap them.
        current.pause();
        current.hidden = true;
        current.setAttribute("aria-hidden", "true");
        active = 1 - active;
      }
      var playing = videos[active];
      playing.hidden = false;
      playing.removeAttribute("aria-hidden");
      show(index);
      var start = function () {
        playing.play().catch(function () {});
        upcoming = videos[1 - active];
        cue(upcoming, shots[index + 1]);
      };
      if (playing.dataset.cued === shots[index].src + "#" + shots[index].start) start();
      else {
        cue(playing, shots[index]);
        playing.addEventListener("seeked", start, { once: true });
      }
    }

    function watch() {
      if (!running) return;
      var playing = videos[active];
      var shot = shots[index];
      // A frame early: the swap then lands on the cut, not a frame after it.
      if (shot && (playing.ended || playing.currentTime >= shot.end - 1 / 60)) next();
      window.requestAnimationFrame(watch);
    }

    if (!shots.length) return;
    cue(videos[0], shots[0]);
    if (button) {
      button.addEventListener("click", function () {
        if (running) {
          running = false;
          videos[active].pause();
          button.textContent = "Play scene";
          return;
        }
        running = true;
        button.textContent = "Pause";
        if (index >= 0 && index < shots.length) {
          videos[active].play().catch(function () {});
          window.requestAnimationFrame(watch);
          return;
        }
        index = -1;
        delete player.dataset.finished;
        next();
        window.requestAnimationFrame(watch);
      });
    }
  }

  // A shot waiting for a job ("Jump to", an extend) is filled on the server when
  // the job succeeds; the page's poller swaps in the finished card, and the
  // builder then reloads to show the shot in its place.
  function watchPending(event) {
    // The event comes from the new card; its detail still names the old one.
    var old = event.detail && event.detail.target;
    if (!old || !old.id) return;
    var card = document.getElementById(old.id);
    var waiting = document.querySelector('[data-pending-job="' + old.id + '"]');
    var status = card && card.querySelector("[data-status]");
    if (waiting && status && status.dataset.status === "succeeded") window.location.reload();
  }

  function init(root) {
    root.querySelectorAll("[data-scene-builder]").forEach(initBuilder);
    root.querySelectorAll("form[data-trim]").forEach(initTrim);
    root.querySelectorAll("[data-scene-player]").forEach(initPlayer);
  }

  document.addEventListener("htmx:oobAfterSwap", watchPending);
  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
