// Before / after comparison of a removal result: the "after" video is clipped
// at a divider the creator drags; both videos play in step. Configured by
// data-* attributes on [data-video-compare], started from htmx.onLoad.
(function () {
  "use strict";

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  function Compare(root) {
    var stage = root.querySelector("[data-compare-stage]");
    var before = root.querySelector("[data-compare-before]");
    var after = root.querySelector("[data-compare-after]");
    var slider = root.querySelector("[data-compare-slider]");
    var play = root.querySelector("[data-compare-play]");
    var dragging = null;

    function setPosition(percent) {
      percent = clamp(percent, 0, 100);
      stage.style.setProperty("--compare-pos", percent + "%");
      slider.value = String(percent);
      var text = percent < 1 ? "All after" : percent > 99 ? "All before"
        : Math.round(percent) + " % before, " + Math.round(100 - percent) + " % after";
      slider.setAttribute("aria-valuetext", text);
    }

    function fromPointer(e) {
      var r = stage.getBoundingClientRect();
      setPosition((e.clientX - r.left) / r.width * 100);
    }

    slider.addEventListener("input", function () { setPosition(parseFloat(slider.value)); });
    stage.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      dragging = e.pointerId;
      stage.setPointerCapture(e.pointerId);
      fromPointer(e);
    });
    stage.addEventListener("pointermove", function (e) { if (e.pointerId === dragging) fromPointer(e); });
    stage.addEventListener("pointerup", function () { dragging = null; });
    stage.addEventListener("pointercancel", function () { dragging = null; });

    // The "before" video leads; the other follows it when they drift apart.
    before.addEventListener("timeupdate", function () {
      if (Math.abs(after.currentTime - before.currentTime) > 0.08) after.currentTime = before.currentTime;
    });
    before.addEventListener("seeked", function () { after.currentTime = before.currentTime; });

    play.addEventListener("click", function () {
      var playing = !before.paused;
      if (playing) {
        before.pause();
        after.pause();
      } else {
        after.currentTime = before.currentTime;
        Promise.all([before.play(), after.play()]).catch(function () { /* autoplay refused */ });
      }
      play.setAttribute("aria-pressed", String(!playing));
      play.textContent = playing ? "Play both" : "Pause";
    });

    setPosition(parseFloat(slider.value) || 50);
  }

  function init(root) {
    var scope = root.querySelectorAll ? root : document;
    var found = scope.matches && scope.matches("[data-video-compare]") ? [scope] : scope.querySelectorAll("[data-video-compare]");
    Array.prototype.forEach.call(found, function (el) {
      if (el.__videoCompare) return;
      el.__videoCompare = new Compare(el);
    });
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Loaded after the page (a swapped-in partial): start at once.
  if (document.readyState !== "loading") init(document);
})();
