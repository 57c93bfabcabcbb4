// Test-only: times the mask painter's pointer handlers from outside the module,
// for tests/browser/test_painter.py and benchmarks/bench_painter.py. It must run
// before static/studio/js/mask-painter.js registers its listeners
// (page.add_init_script before navigating, or page.add_script_tag before the
// painter's own script tag).
//
// It wraps EventTarget.prototype.addEventListener, so every pointerdown,
// pointermove and pointerup listener registered on a painter's [data-viewport]
// runs between two performance.now() calls. The span is the whole handler: the
// drawing work the painter used to time itself (dot or segment, touched tiles;
// at pointerup, the undo record) plus the little around it (cursor move, focus,
// pointer capture), an honest superset. pointermove counts only while a pointer
// pressed on the viewport is down (hovering draws nothing); pointerdown and
// pointermove go into one list, pointerup into the stroke-end list.
//
// With `flush` on, after each pointerdown/pointermove handler a one-pixel
// getImageData on the paint canvas, inside the span, makes Chromium rasterize
// what the handler drew before the clock stops (the "strict" figures).
//
// window.__painterProbe: stats() -> {count, p50, p95, max, strokeEnd: {count,
// p50, p95, max} or null} in milliseconds; reset(); flush (boolean).
(function () {
  "use strict";

  var LIMIT = 20000;
  var TRACKED = { pointerdown: true, pointermove: true, pointerup: true, pointercancel: true };
  var events = [];
  var ends = [];
  var pressed = new Map(); // pointerId -> {canvas, rect} of the viewport it went down on

  function keep(list, ms) {
    if (list.length >= LIMIT) list.shift();
    list.push(ms);
  }

  function summary(list) {
    var sorted = list.slice().sort(function (a, b) { return a - b; });
    var pick = function (q) { return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]; };
    if (!sorted.length) return { count: 0, p50: 0, p95: 0, max: 0 };
    return { count: sorted.length, p50: pick(0.5), p95: pick(0.95), max: sorted[sorted.length - 1] };
  }

  var probe = (window.__painterProbe = {
    flush: false,
    reset: function () { events = []; ends = []; },
    stats: function () {
      var s = summary(events);
      s.strokeEnd = ends.length ? summary(ends) : null;
      return s;
    },
  });

  // A one-pixel read under the pointer: the canvas must play back its pending
  // drawing before it can answer, so the read includes rasterising the stroke.
  function rasterize(target, e) {
    var canvas = target.canvas;
    if (!canvas) return;
    var r = target.rect;
    var x = Math.floor((e.clientX - r.left) * canvas.width / r.width);
    var y = Math.floor((e.clientY - r.top) * canvas.height / r.height);
    canvas.getContext("2d").getImageData(
      Math.max(0, Math.min(canvas.width - 1, x)), Math.max(0, Math.min(canvas.height - 1, y)), 1, 1);
  }

  function timed(type, listener) {
    return function (e) {
      if (type === "pointerdown") {
        // Looked up before the clock starts: the painter's rect is not part of its work.
        var canvas = this.querySelector("[data-paint]");
        pressed.set(e.pointerId, { canvas: canvas, rect: canvas && canvas.getBoundingClientRect() });
      }
      var target = pressed.get(e.pointerId);
      if (type === "pointerup" || type === "pointercancel") pressed.delete(e.pointerId);
      if (!target || type === "pointercancel") return listener.call(this, e);
      var t0 = performance.now();
      try {
        return listener.call(this, e);
      } finally {
        if (type === "pointerup") keep(ends, performance.now() - t0);
        else {
          if (probe.flush) rasterize(target, e);
          keep(events, performance.now() - t0);
        }
      }
    };
  }

  var add = EventTarget.prototype.addEventListener;
  var remove = EventTarget.prototype.removeEventListener;
  var wrappers = new WeakMap(); // listener -> {type: wrapper}

  function isViewport(target, type, listener) {
    return TRACKED[type] === true && typeof listener === "function" &&
      target instanceof Element && target.matches("[data-viewport]");
  }

  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (!isViewport(this, type, listener)) return add.call(this, type, listener, options);
    var byType = wrappers.get(listener) || {};
    wrappers.set(listener, byType);
    byType[type] = byType[type] || timed(type, listener);
    return add.call(this, type, byType[type], options);
  };

  EventTarget.prototype.removeEventListener = function (type, listener, options) {
    var byType = isViewport(this, type, listener) && wrappers.get(listener);
    return remove.call(this, type, (byType && byType[type]) || listener, options);
  };
})();
