// Mask painter: paint over an object on a chosen frame of a video and send a
// black-and-white JPEG mask at the video's own size (white = remove).
//
// Configured by data-* attributes on [data-mask-painter] (data-width,
// data-height: the stored file's size; data-duration, data-fps) and started
// from htmx.onLoad, so swapped-in painters work too. No framework.
//
// The paint canvas's backing store is the video's native size; CSS scales it.
// Strokes are round line segments in native pixels; only the paint's alpha is
// the mask (>= 128 = remove). Undo keeps, per stroke, the before and after
// pixels of the 128 px tiles the stroke touched (a "shadow" canvas holds the
// last committed state), so a 4K mask stays cheap in time and memory.
(function () {
  "use strict";

  var STORAGE_KEY = "studio.maskPainter.v1";
  var PAINT = [255, 45, 110]; // the overlay colour; only its alpha is the mask
  var THRESHOLD = 128;
  var MAX_COVERAGE = 0.99;
  var UNDO_LIMIT = 30;
  var UNDO_BYTES = 384 * 1024 * 1024;
  var ZOOM_MIN = 1;
  var ZOOM_MAX = 16;
  var TILE = 128;
  // Arrow key -> the keyboard brush's direction.
  var KEY_STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function loadSettings() {
    try { return JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "{}") || {}; }
    catch (e) { return {}; }
  }
  function saveSettings(settings) {
    try { window.localStorage.setItem(STORAGE_KEY, JSON.stringify(settings)); } catch (e) { /* private mode */ }
  }

  function uuid4() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  function isTextEntry(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || el.isContentEditable) return true;
    return tag === "input" && !/^(range|radio|checkbox|button|submit|file)$/.test(el.type);
  }

  function marked(imageData) {
    var d = imageData.data;
    var n = 0;
    for (var i = 3; i < d.length; i += 4) if (d[i] >= THRESHOLD) n++;
    return n;
  }

  // Binarize paint alpha into opaque white (remove) / black (keep) pixels, in place.
  function binarize(imageData) {
    var px = new Uint32Array(imageData.data.buffer);
    var white = 0;
    for (var i = 0; i < px.length; i++) {
      if ((px[i] >>> 24) >= THRESHOLD) { px[i] = 0xffffffff; white++; }
      else px[i] = 0xff000000;
    }
    return white;
  }

  function Painter(root) {
    this.root = root;
    this.form = root.closest("form");
    this.W = parseInt(root.dataset.width, 10);
    this.H = parseInt(root.dataset.height, 10);
    this.duration = parseFloat(root.dataset.duration) || 0;
    this.fps = parseFloat(root.dataset.fps) || 24;
    // Insert mode: the mask may be left empty (the provider then places the
    // object), white means "put it here", and the routes are "route" radios.
    this.maskOptional = root.hasAttribute("data-mask-optional");
    this.markWord = root.dataset.markWord || "removal";
    this.routeInputs = 'input[name="' + (root.dataset.routeField || "provider") + '"]';
    this.q = function (sel) { return root.querySelector(sel); };
    this.viewport = this.q("[data-viewport]");
    this.stage = this.q("[data-stage]");
    this.video = this.q("[data-video]");
    this.canvas = this.q("[data-paint]");
    this.previewCanvas = this.q("[data-preview]");
    this.cursor = this.q("[data-cursor]");
    this.status = this.q("[data-status]");
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.previewCtx = this.previewCanvas.getContext("2d", { willReadFrequently: true });
    this.shadow = document.createElement("canvas");
    this.shadow.width = this.W;
    this.shadow.height = this.H;
    this.shadowCtx = this.shadow.getContext("2d", { willReadFrequently: true });
    this.cols = Math.ceil(this.W / TILE);
    this.rows = Math.ceil(this.H / TILE);
    this.white = 0; // pixels marked for removal (alpha >= THRESHOLD)
    this.content = new Set(); // tiles that may hold paint
    this.undoStack = [];
    this.redoStack = [];
    this.undoBytes = 0;
    this.version = 0; // bumped by every change, to tell a reused mask from an edited one
    this.coverage = 0;
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.stroke = null;
    this.pan = null;
    this.touches = new Map();
    this.pinch = null;
    this.spaceDown = false;
    this.previewing = false;
    this.reused = null; // {id, version} when an earlier mask was loaded unchanged
    this.rect = null;

    var maxSize = Math.max(8, Math.round(Math.max(this.W, this.H) / 6));
    this.sizeInput = this.q("[data-size]");
    this.sizeInput.max = String(maxSize);
    this.sizeInput.min = "2";
    var settings = loadSettings();
    // The size is remembered relative to the frame, so a brush that fits an
    // object on a 720p video fits it on the 4K version too.
    this.size = clamp(Math.round((settings.sizeFrac || 0.04) * this.W), 2, maxSize);
    this.opacity = clamp(settings.opacity || 60, 10, 100);
    this.tool = settings.tool === "eraser" ? "eraser" : "brush";

    var submitButton = this.form && this.form.querySelector("[data-submit]");
    this.submitLabel = submitButton ? submitButton.textContent : "";
    root.style.setProperty("--painter-ar", this.W + " / " + this.H);
    this.bind();
    this.setSize(this.size);
    this.setOpacity(this.opacity);
    this.setTool(this.tool);
    this.setFrame(0);
    this.refreshState();
  }

  Painter.prototype.persist = function () {
    saveSettings({ sizeFrac: this.size / this.W, opacity: this.opacity, tool: this.tool });
  };

  // -- controls ------------------------------------------------------------------

  Painter.prototype.bind = function () {
    var self = this;
    this.root.querySelectorAll("[data-tool]").forEach(function (button) {
      button.addEventListener("click", function () { self.setTool(button.dataset.tool); });
    });
    var actions = {
      undo: function () { self.undo(); },
      redo: function () { self.redo(); },
      clear: function () { self.clear(); },
      invert: function () { self.invert(); },
      "zoom-in": function () { self.zoomBy(1.5); },
      "zoom-out": function () { self.zoomBy(1 / 1.5); },
      "zoom-fit": function () { self.setZoom(1, 0, 0); },
      preview: function () { self.togglePreview(); },
      "frame-first": function () { self.setFrame(0); },
      "frame-prev": function () { self.stepFrame(-1); },
      "frame-next": function () { self.stepFrame(1); },
    };
    this.root.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () { actions[button.dataset.action](); });
    });
    this.sizeInput.addEventListener("input", function () { self.setSize(parseInt(self.sizeInput.value, 10)); });
    var opacity = this.q("[data-opacity]");
    opacity.addEventListener("input", function () { self.setOpacity(parseInt(opacity.value, 10)); });
    var frame = this.q("[data-frame]");
    frame.addEventListener("input", function () { self.setFrame(parseFloat(frame.value)); });

    this.video.addEventListener("loadeddata", function () { self.seekVideo(); });

    var vp = this.viewport;
    vp.addEventListener("pointerdown", function (e) { self.onDown(e); });
    vp.addEventListener("pointermove", function (e) { self.onMove(e); });
    vp.addEventListener("pointerup", function (e) { self.onUp(e); });
    vp.addEventListener("pointercancel", function (e) { self.onUp(e, true); });
    vp.addEventListener("pointerleave", function () { self.cursor.classList.remove("is-visible"); });
    vp.addEventListener("contextmenu", function (e) { e.preventDefault(); });
    vp.addEventListener("wheel", function (e) { self.onWheel(e); }, { passive: false });
    document.addEventListener("keydown", function (e) { self.onKey(e, true); });
    document.addEventListener("keyup", function (e) { self.onKey(e, false); });
    window.addEventListener("resize", function () { self.rect = null; self.setZoom(self.zoom, self.panX, self.panY); });
    window.addEventListener("scroll", function () { self.rect = null; self.vpRect = null; }, { passive: true });

    // Leaving with unsent paint asks first; sending the form does not.
    window.addEventListener("beforeunload", function (e) {
      if (!self.white || self.sending || !self.root.isConnected) return;
      e.preventDefault();
      e.returnValue = "";
    });
    // Back from the job page (the page restored from the back/forward cache):
    // the form is usable again, as a new request.
    window.addEventListener("pageshow", function (e) {
      if (!e.persisted || !self.form) return;
      self.sending = false;
      var submit = self.form.querySelector("[data-submit]");
      if (submit) submit.textContent = self.submitLabel;
      self.changed();
    });
    if (this.form) {
      this.form.addEventListener("submit", function (e) { self.onSubmit(e); });
      this.form.querySelectorAll("[data-reuse]").forEach(function (radio) {
        radio.addEventListener("change", function () { if (radio.checked) self.loadEarlier(radio); });
      });
      this.form.querySelectorAll(this.routeInputs).forEach(function (radio) {
        radio.addEventListener("change", function () { self.updateSubmit(); });
      });
      var upload = this.form.querySelector("[data-import]");
      if (upload) upload.addEventListener("change", function () { self.importFile(upload); });
    }
  };

  Painter.prototype.setTool = function (tool) {
    if (tool !== "brush" && tool !== "eraser" && tool !== "pan") return;
    this.tool = tool;
    this.root.querySelectorAll("[data-tool]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
    });
    this.viewport.dataset.tool = tool;
    this.persist();
  };

  Painter.prototype.setSize = function (size) {
    this.size = clamp(Math.round(size) || 2, 2, parseInt(this.sizeInput.max, 10));
    this.sizeInput.value = String(this.size);
    this.q("[data-size-out]").textContent = this.size + " px";
    this.updateCursorSize();
    this.persist();
  };

  Painter.prototype.setOpacity = function (value) {
    this.opacity = clamp(value, 10, 100);
    this.q("[data-opacity]").value = String(this.opacity);
    this.q("[data-opacity-out]").textContent = this.opacity + " %";
    this.canvas.style.opacity = String(this.opacity / 100);
    this.persist();
  };

  // -- frames --------------------------------------------------------------------

  Painter.prototype.setFrame = function (seconds) {
    var step = 1 / this.fps;
    var last = Math.max(0, this.duration - step);
    this.frameSeconds = clamp(Math.round((seconds || 0) / step) * step, 0, last);
    var input = this.q("[data-frame]");
    input.value = String(this.frameSeconds);
    this.q("[data-frame-out]").textContent =
      this.frameSeconds.toFixed(2) + " s · frame " + (Math.round(this.frameSeconds * this.fps) + 1);
    if (this.form && this.form.elements.frame_seconds) {
      this.form.elements.frame_seconds.value = this.frameSeconds.toFixed(3);
    }
    this.seekVideo();
    this.updateSubmit();
  };

  Painter.prototype.stepFrame = function (delta) { this.setFrame(this.frameSeconds + delta / this.fps); };

  Painter.prototype.seekVideo = function () {
    if (this.video.readyState < 1) return;
    // Aim at the middle of the frame so the decoder lands on it, not on its neighbour.
    var target = this.frameSeconds + 0.5 / this.fps;
    if (Math.abs(this.video.currentTime - target) > 0.25 / this.fps) this.video.currentTime = target;
  };

  // -- pointer input -----------------------------------------------------------------

  Painter.prototype.toNative = function (e) {
    var r = this.rect || (this.rect = this.canvas.getBoundingClientRect());
    return { x: (e.clientX - r.left) * this.W / r.width, y: (e.clientY - r.top) * this.H / r.height };
  };

  Painter.prototype.onDown = function (e) {
    this.viewport.focus({ preventScroll: true });
    this.rect = null;
    if (e.pointerType === "touch") {
      this.touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.touches.size === 2) { this.startPinch(); return; }
      if (this.touches.size > 2) return;
    }
    if (e.button === 2) return;
    if (e.button === 1 || this.spaceDown || this.tool === "pan") {
      e.preventDefault();
      this.pan = { x: e.clientX, y: e.clientY, panX: this.panX, panY: this.panY, id: e.pointerId };
      this.viewport.setPointerCapture(e.pointerId);
      this.viewport.classList.add("is-panning");
      return;
    }
    e.preventDefault();
    this.viewport.setPointerCapture(e.pointerId);
    var p = this.toNative(e);
    var r = this.size / 2;
    // A pen's eraser end (button 5) erases whatever the tool.
    var erase = this.tool === "eraser" || e.button === 5;
    this.stroke = { id: e.pointerId, last: p, erase: erase, tiles: new Set() };
    this.drawDot(p, erase);
    this.touch(this.stroke.tiles, p.x - r, p.y - r, p.x + r, p.y + r);
  };

  Painter.prototype.onMove = function (e) {
    this.moveCursor(e);
    if (this.pinch && this.touches.has(e.pointerId)) {
      this.touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      this.movePinch();
      return;
    }
    if (this.pan && e.pointerId === this.pan.id) {
      this.setZoom(this.zoom, this.pan.panX + e.clientX - this.pan.x, this.pan.panY + e.clientY - this.pan.y);
      return;
    }
    var stroke = this.stroke;
    if (!stroke || e.pointerId !== stroke.id) return;
    var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    if (!events.length) events = [e];
    var ctx = this.ctx;
    this.prepare(stroke.erase);
    ctx.beginPath();
    ctx.moveTo(stroke.last.x, stroke.last.y);
    var x0 = stroke.last.x, y0 = stroke.last.y, x1 = x0, y1 = y0;
    for (var i = 0; i < events.length; i++) {
      var p = this.toNative(events[i]);
      ctx.lineTo(p.x, p.y);
      stroke.last = p;
      if (p.x < x0) x0 = p.x; if (p.x > x1) x1 = p.x;
      if (p.y < y0) y0 = p.y; if (p.y > y1) y1 = p.y;
    }
    ctx.stroke();
    var r = this.size / 2;
    this.touch(stroke.tiles, x0 - r, y0 - r, x1 + r, y1 + r);
  };

  Painter.prototype.onUp = function (e, cancelled) {
    this.moveCursor(e);
    if (e.pointerType === "touch") {
      this.touches.delete(e.pointerId);
      if (this.pinch) { if (this.touches.size < 2) this.pinch = null; return; }
    }
    if (this.pan && e.pointerId === this.pan.id) {
      this.pan = null;
      this.viewport.classList.remove("is-panning");
      return;
    }
    var stroke = this.stroke;
    if (!stroke || e.pointerId !== stroke.id) return;
    this.stroke = null;
    if (cancelled) { this.restore(stroke.tiles); return; }
    this.commit(stroke.tiles, stroke.erase ? "Erase" : "Paint");
  };

  Painter.prototype.startPinch = function () {
    // A second finger turns a stroke into a pinch: take back what the first one painted.
    if (this.stroke) {
      var tiles = this.stroke.tiles;
      this.stroke = null;
      this.restore(tiles);
    }
    var pts = Array.from(this.touches.values());
    this.pinch = {
      dist: Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y) || 1,
      cx: (pts[0].x + pts[1].x) / 2, cy: (pts[0].y + pts[1].y) / 2,
      zoom: this.zoom, panX: this.panX, panY: this.panY,
    };
  };

  Painter.prototype.movePinch = function () {
    var pts = Array.from(this.touches.values());
    if (pts.length < 2) return;
    var p = this.pinch;
    var vr = this.viewport.getBoundingClientRect();
    var dist = Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y) || 1;
    var cx = (pts[0].x + pts[1].x) / 2, cy = (pts[0].y + pts[1].y) / 2;
    var zoom = clamp(p.zoom * dist / p.dist, ZOOM_MIN, ZOOM_MAX);
    var k = zoom / p.zoom;
    var ox = p.cx - vr.left, oy = p.cy - vr.top;
    this.setZoom(zoom, ox - (ox - p.panX) * k + (cx - p.cx), oy - (oy - p.panY) * k + (cy - p.cy));
  };

  Painter.prototype.onWheel = function (e) {
    // Ctrl+wheel (and a trackpad pinch, which arrives as one) zooms about the
    // pointer; a plain wheel pans once zoomed in and scrolls the page otherwise.
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      var vr = this.viewport.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0025), e.clientX - vr.left, e.clientY - vr.top);
    } else if (this.zoom > 1) {
      e.preventDefault();
      this.setZoom(this.zoom, this.panX - e.deltaX, this.panY - e.deltaY);
    }
  };

  Painter.prototype.onKey = function (e, down) {
    if (!this.root.isConnected) return;
    if (isTextEntry(e.target)) return;
    if (e.key === " " || e.code === "Space") {
      var onControl = e.target && /^(button|select|a)$/i.test(e.target.tagName);
      if (onControl) return;
      e.preventDefault();
      this.spaceDown = down;
      this.viewport.classList.toggle("is-space", down);
      return;
    }
    if (!down) return;
    var key = e.key;
    var mod = e.ctrlKey || e.metaKey;
    // Painting without a pointer: on the focused frame the arrows move the
    // brush and Enter puts it down or lifts it (one undo step per stroke).
    if (e.target === this.viewport && !mod && !e.altKey) {
      var step = KEY_STEPS[key];
      if (step) {
        e.preventDefault();
        this.keyMove(step[0], step[1], e.shiftKey ? 4 : 1);
        return;
      }
      if (key === "Enter" || (key === "Escape" && this.keyStroke)) {
        e.preventDefault();
        this.keyPen();
        return;
      }
    }
    if (mod && (key === "z" || key === "Z")) {
      e.preventDefault();
      if (e.shiftKey) this.redo(); else this.undo();
    } else if (mod && (key === "y" || key === "Y")) {
      e.preventDefault();
      this.redo();
    } else if (mod || e.altKey) {
      return;
    } else if (key === "[") {
      this.setSize(Math.min(this.size - 1, this.size / 1.15));
    } else if (key === "]") {
      this.setSize(Math.max(this.size + 1, this.size * 1.15));
    } else if (key === "b" || key === "B") {
      this.setTool("brush");
    } else if (key === "e" || key === "E") {
      this.setTool("eraser");
    } else if (key === "h" || key === "H") {
      this.setTool("pan");
    } else if (key === "p" || key === "P") {
      this.togglePreview();
    } else if (key === "+" || key === "=") {
      this.zoomBy(1.5);
    } else if (key === "-") {
      this.zoomBy(1 / 1.5);
    } else if (key === "0") {
      this.setZoom(1, 0, 0);
    } else if (key === ",") {
      this.stepFrame(-1);
    } else if (key === ".") {
      this.stepFrame(1);
    } else {
      return;
    }
  };

  // -- the keyboard brush ------------------------------------------------------------

  Painter.prototype.keyMove = function (dx, dy, times) {
    var p = this.keyAt || { x: this.W / 2, y: this.H / 2 };
    var step = Math.max(2, Math.round(this.W / 64)) * times;
    var next = { x: clamp(p.x + dx * step, 0, this.W), y: clamp(p.y + dy * step, 0, this.H) };
    this.keyAt = next;
    var stroke = this.keyStroke;
    if (stroke) {
      this.prepare(stroke.erase);
      this.ctx.beginPath();
      this.ctx.moveTo(p.x, p.y);
      this.ctx.lineTo(next.x, next.y);
      this.ctx.stroke();
      var r = this.size / 2;
      this.touch(stroke.tiles, Math.min(p.x, next.x) - r, Math.min(p.y, next.y) - r,
        Math.max(p.x, next.x) + r, Math.max(p.y, next.y) + r);
    }
    this.showKeyCursor();
  };

  Painter.prototype.keyPen = function () {
    var stroke = this.keyStroke;
    if (stroke) {
      this.keyStroke = null;
      this.commit(stroke.tiles, stroke.erase ? "Erase" : "Paint");
      this.say((stroke.erase ? "Eraser" : "Brush") + " lifted.");
      return;
    }
    var p = this.keyAt || (this.keyAt = { x: this.W / 2, y: this.H / 2 });
    var erase = this.tool === "eraser";
    var r = this.size / 2;
    this.keyStroke = { erase: erase, tiles: new Set() };
    this.drawDot(p, erase);
    this.touch(this.keyStroke.tiles, p.x - r, p.y - r, p.x + r, p.y + r);
    this.showKeyCursor();
    this.say((erase ? "Erasing" : "Painting") + ": the arrow keys draw, Enter lifts the " + (erase ? "eraser." : "brush."));
  };

  Painter.prototype.showKeyCursor = function () {
    var r = this.canvas.getBoundingClientRect();
    var vr = this.viewport.getBoundingClientRect();
    var p = this.keyAt;
    this.lastCursor = { x: r.left - vr.left + p.x * r.width / this.W, y: r.top - vr.top + p.y * r.height / this.H };
    this.cursor.style.transform = "translate(" + this.lastCursor.x + "px," + this.lastCursor.y + "px)";
    this.cursor.classList.add("is-visible");
  };

  // -- the brush cursor --------------------------------------------------------------

  Painter.prototype.moveCursor = function (e) {
    if (e.pointerType === "touch" || this.tool === "pan" || this.spaceDown) {
      this.cursor.classList.remove("is-visible");
      return;
    }
    var vr = this.vpRect || (this.vpRect = this.viewport.getBoundingClientRect());
    this.lastCursor = { x: e.clientX - vr.left, y: e.clientY - vr.top };
    this.cursor.style.transform = "translate(" + this.lastCursor.x + "px," + this.lastCursor.y + "px)";
    this.cursor.classList.add("is-visible");
  };

  Painter.prototype.updateCursorSize = function () {
    var r = this.canvas.getBoundingClientRect();
    var d = Math.max(4, this.size * (r.width || this.W) / this.W);
    this.cursor.style.width = this.cursor.style.height = d + "px";
    this.cursor.style.margin = (-d / 2) + "px 0 0 " + (-d / 2) + "px";
  };

  // -- zoom and pan -----------------------------------------------------------------

  Painter.prototype.setZoom = function (zoom, panX, panY) {
    this.zoom = clamp(zoom, ZOOM_MIN, ZOOM_MAX);
    var vw = this.viewport.clientWidth, vh = this.viewport.clientHeight;
    // Keep the frame covering the viewport: no panning the video out of sight.
    this.panX = clamp(panX, vw - vw * this.zoom, 0);
    this.panY = clamp(panY, vh - vh * this.zoom, 0);
    this.stage.style.transform =
      "translate(" + this.panX + "px," + this.panY + "px) scale(" + this.zoom + ")";
    this.q("[data-zoom-out]").textContent = Math.round(this.zoom * 100) + " %";
    this.rect = null;
    this.vpRect = null;
    this.updateCursorSize();
  };

  Painter.prototype.zoomAt = function (factor, ox, oy) {
    var zoom = clamp(this.zoom * factor, ZOOM_MIN, ZOOM_MAX);
    var k = zoom / this.zoom;
    this.setZoom(zoom, ox - (ox - this.panX) * k, oy - (oy - this.panY) * k);
  };

  Painter.prototype.zoomBy = function (factor) {
    var c = this.lastCursor || { x: this.viewport.clientWidth / 2, y: this.viewport.clientHeight / 2 };
    this.zoomAt(factor, c.x, c.y);
  };

  // -- drawing -----------------------------------------------------------------------

  Painter.prototype.prepare = function (erase) {
    var ctx = this.ctx;
    ctx.globalCompositeOperation = erase ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "rgb(" + PAINT.join(",") + ")";
    ctx.lineWidth = this.size;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  };

  Painter.prototype.drawDot = function (p, erase) {
    this.prepare(erase);
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, this.size / 2, 0, Math.PI * 2);
    this.ctx.fill();
  };

  // -- tiles and history ----------------------------------------------------------------
  //
  // The frame is cut into TILE x TILE tiles. A stroke remembers the tiles its
  // segments touched; committing it reads back only those tiles (before from
  // the shadow canvas, after from the paint canvas), so the cost follows the
  // painted area, not the frame size. The count of marked pixels is kept up to
  // date from the same reads: no full-frame scan after a stroke.

  Painter.prototype.touch = function (tiles, x0, y0, x1, y1) {
    var T = TILE;
    var c0 = clamp(Math.floor((x0 - 2) / T), 0, this.cols - 1), c1 = clamp(Math.floor((x1 + 2) / T), 0, this.cols - 1);
    var r0 = clamp(Math.floor((y0 - 2) / T), 0, this.rows - 1), r1 = clamp(Math.floor((y1 + 2) / T), 0, this.rows - 1);
    for (var row = r0; row <= r1; row++) {
      for (var col = c0; col <= c1; col++) tiles.add(row * this.cols + col);
    }
    if (this.previewing) {
      var x = c0 * T, y = r0 * T;
      this.refreshPreview({ x: x, y: y, w: Math.min(this.W, (c1 + 1) * T) - x, h: Math.min(this.H, (r1 + 1) * T) - y });
    }
  };

  Painter.prototype.tileRect = function (index) {
    var x = (index % this.cols) * TILE, y = Math.floor(index / this.cols) * TILE;
    return { x: x, y: y, w: Math.min(TILE, this.W - x), h: Math.min(TILE, this.H - y) };
  };

  Painter.prototype.allTiles = function () {
    var all = new Set();
    for (var i = 0; i < this.cols * this.rows; i++) all.add(i);
    return all;
  };

  // Put back the last committed pixels of some tiles (a cancelled stroke).
  Painter.prototype.restore = function (tiles) {
    var self = this;
    tiles.forEach(function (index) {
      var r = self.tileRect(index);
      self.ctx.putImageData(self.shadowCtx.getImageData(r.x, r.y, r.w, r.h), r.x, r.y);
      if (self.previewing) self.refreshPreview(r);
    });
  };

  // Record the change of the paint canvas in `tiles` as one undo step.
  Painter.prototype.commit = function (tiles, label) {
    var self = this;
    var parts = [];
    var delta = 0;
    tiles.forEach(function (index) {
      var r = self.tileRect(index);
      var before = self.shadowCtx.getImageData(r.x, r.y, r.w, r.h);
      var after = self.ctx.getImageData(r.x, r.y, r.w, r.h);
      var change = marked(after) - marked(before);
      self.shadowCtx.putImageData(after, r.x, r.y);
      self.content.add(index);
      delta += change;
      parts.push({ r: r, before: before, after: after });
    });
    if (!parts.length) return;
    this.white += delta;
    this.push({ parts: parts, delta: delta, label: label });
    this.changed();
  };

  Painter.prototype.push = function (entry) {
    entry.bytes = 0;
    (entry.parts || []).forEach(function (part) { entry.bytes += part.before.data.length * 2; });
    this.undoStack.push(entry);
    this.undoBytes += entry.bytes;
    this.redoStack = [];
    while (this.undoStack.length > UNDO_LIMIT || (this.undoBytes > UNDO_BYTES && this.undoStack.length > 1)) {
      this.undoBytes -= this.undoStack.shift().bytes;
    }
  };

  Painter.prototype.apply = function (entry, forward) {
    var self = this;
    if (entry.invert) {
      this.invertPixels();
      return;
    }
    entry.parts.forEach(function (part) {
      var data = forward ? part.after : part.before;
      self.ctx.putImageData(data, part.r.x, part.r.y);
      self.shadowCtx.putImageData(data, part.r.x, part.r.y);
      if (self.previewing) self.refreshPreview(part.r);
    });
    this.white += forward ? entry.delta : -entry.delta;
    entry.parts.forEach(function (part) {
      self.content.add(Math.floor(part.r.y / TILE) * self.cols + Math.floor(part.r.x / TILE));
    });
  };

  Painter.prototype.undo = function () {
    if (this.stroke || !this.undoStack.length) return;
    var entry = this.undoStack.pop();
    this.undoBytes -= entry.bytes;
    this.apply(entry, false);
    this.redoStack.push(entry);
    this.changed(entry.label + " undone");
  };

  Painter.prototype.redo = function () {
    if (this.stroke || !this.redoStack.length) return;
    var entry = this.redoStack.pop();
    this.apply(entry, true);
    this.undoStack.push(entry);
    this.undoBytes += entry.bytes;
    this.changed(entry.label + " redone");
  };

  Painter.prototype.clear = function () {
    if (!this.white && !this.content.size) return;
    // Only tiles that ever held paint need clearing (and remembering).
    var tiles = this.content;
    this.content = new Set();
    var self = this;
    tiles.forEach(function (index) {
      var r = self.tileRect(index);
      self.ctx.clearRect(r.x, r.y, r.w, r.h);
    });
    this.commit(tiles, "Clear");
    if (this.previewing) this.redrawPreview();
  };

  // Alpha inversion through compositing: exact (255 - a), its own inverse, so
  // undo needs no pixels, and far cheaper than a pixel loop at 4K.
  Painter.prototype.invertPixels = function () {
    var W = this.W, H = this.H;
    var tmp = this.scratch || (this.scratch = document.createElement("canvas"));
    tmp.width = W;
    tmp.height = H;
    var tctx = tmp.getContext("2d");
    tctx.fillStyle = "rgb(" + PAINT.join(",") + ")";
    tctx.fillRect(0, 0, W, H);
    tctx.globalCompositeOperation = "destination-out";
    tctx.drawImage(this.canvas, 0, 0);
    [this.ctx, this.shadowCtx].forEach(function (ctx) {
      ctx.globalCompositeOperation = "source-over";
      ctx.clearRect(0, 0, W, H);
      ctx.drawImage(tmp, 0, 0);
    });
    tmp.width = tmp.height = 0; // give the memory back
    this.white = W * H - this.white;
    this.content = this.allTiles();
    if (this.previewing) this.redrawPreview();
  };

  Painter.prototype.invert = function () {
    this.invertPixels();
    this.push({ invert: true, label: "Invert" });
    this.changed();
  };

  // Paint from a black-and-white image: white (and opaque) = remove.
  Painter.prototype.paintFromImage = function (img, label) {
    var iw = img.naturalWidth, ih = img.naturalHeight;
    if (!iw || !ih) return false;
    if (Math.abs(iw / ih - this.W / this.H) / (this.W / this.H) > 0.01) {
      this.say("That image is " + iw + "×" + ih + ": its shape differs from the video's " + this.W + "×" + this.H + ".");
      return false;
    }
    var tmp = document.createElement("canvas");
    tmp.width = this.W;
    tmp.height = this.H;
    var tctx = tmp.getContext("2d", { willReadFrequently: true });
    tctx.imageSmoothingEnabled = false;
    tctx.drawImage(img, 0, 0, this.W, this.H);
    var image = tctx.getImageData(0, 0, this.W, this.H);
    var d = image.data;
    for (var i = 0; i < d.length; i += 4) {
      var on = d[i + 3] >= THRESHOLD && (d[i] * 0.299 + d[i + 1] * 0.587 + d[i + 2] * 0.114) >= THRESHOLD;
      d[i] = PAINT[0]; d[i + 1] = PAINT[1]; d[i + 2] = PAINT[2]; d[i + 3] = on ? 255 : 0;
    }
    this.ctx.putImageData(image, 0, 0);
    this.commit(this.allTiles(), label);
    if (this.previewing) this.redrawPreview();
    return true;
  };

  Painter.prototype.loadImage = function (src, then) {
    var self = this;
    var img = new Image();
    img.onload = function () { then(img); };
    img.onerror = function () { self.say("That image could not be read."); };
    img.src = src;
  };

  Painter.prototype.loadEarlier = function (radio) {
    var self = this;
    this.loadImage(radio.dataset.maskUrl, function (img) {
      if (!self.paintFromImage(img, "Load mask")) return;
      self.setFrame(parseFloat(radio.dataset.frameSeconds) || 0);
      self.reused = { id: radio.value, version: self.version };
      self.say("Earlier mask loaded. Send it as it is, or keep painting to make a new one.");
    });
  };

  Painter.prototype.importFile = function (input) {
    var self = this;
    var file = input.files && input.files[0];
    if (!file) return;
    var url = URL.createObjectURL(file);
    this.loadImage(url, function (img) {
      URL.revokeObjectURL(url);
      if (self.paintFromImage(img, "Import")) self.say("Mask imported: check it, then send it.");
    });
    // What is sent is the canvas, re-exported, not the file.
    input.value = "";
  };

  // -- preview and state -------------------------------------------------------------

  Painter.prototype.refreshPreview = function (box) {
    if (!box.w || !box.h) return;
    var image = this.ctx.getImageData(box.x, box.y, box.w, box.h);
    binarize(image);
    this.previewCtx.putImageData(image, box.x, box.y);
  };

  // Tiles that never held paint are black: only the others are read back.
  Painter.prototype.redrawPreview = function () {
    var self = this;
    if (this.content.size > this.cols * this.rows / 3) {
      this.refreshPreview({ x: 0, y: 0, w: this.W, h: this.H });
      return;
    }
    this.previewCtx.fillStyle = "#000";
    this.previewCtx.fillRect(0, 0, this.W, this.H);
    this.content.forEach(function (index) { self.refreshPreview(self.tileRect(index)); });
  };

  Painter.prototype.togglePreview = function () {
    this.previewing = !this.previewing;
    if (this.previewing) this.redrawPreview();
    this.root.classList.toggle("is-previewing", this.previewing);
    this.q('[data-action="preview"]').setAttribute("aria-pressed", String(this.previewing));
  };

  Painter.prototype.changed = function (message) {
    this.version++;
    // A changed mask is a new request; the same mask sent twice is one job.
    if (this.form && this.form.elements.idempotency_key) this.form.elements.idempotency_key.value = uuid4();
    this.refreshState(message);
  };

  Painter.prototype.refreshState = function (message) {
    var white = this.white;
    this.coverage = white / (this.W * this.H);
    this.q('[data-action="undo"]').disabled = !this.undoStack.length;
    this.q('[data-action="redo"]').disabled = !this.redoStack.length;
    var text;
    if (!white) text = "Nothing painted yet.";
    else if (this.coverage >= MAX_COVERAGE) text = "The mask covers the whole frame: erase or invert it.";
    else text = (this.coverage * 100).toFixed(this.coverage < 0.01 ? 2 : 1) + " % of the frame marked for " + this.markWord + ".";
    this.say(message ? message + ". " + text : text);
    this.updateSubmit();
  };

  Painter.prototype.reuseChosen = function () {
    var chosen = this.form && this.form.querySelector("[data-reuse]:checked");
    return chosen && this.reused && this.reused.id === chosen.value && this.reused.version === this.version
      ? chosen : null;
  };

  Painter.prototype.updateSubmit = function () {
    if (!this.form) return;
    var submit = this.form.querySelector("[data-submit]");
    var help = this.form.querySelector("[data-submit-help]");
    var why = "";
    var routes = this.form.querySelectorAll(this.routeInputs);
    var open = Array.prototype.filter.call(routes, function (r) { return !r.disabled; });
    if (routes.length && !open.length) why = "No route is available for this video (see above).";
    else if (routes.length && !this.form.querySelector(this.routeInputs + ":checked")) why = "Choose where it runs.";
    else if (!this.coverage && !this.maskOptional) why = "Paint over the object first: an empty mask cannot be sent.";
    else if (this.coverage >= MAX_COVERAGE) why = "The mask covers the whole frame.";
    // A route that tracks from the first frame says so (and why) on its radio.
    var chosen = this.form.querySelector(this.routeInputs + ":checked");
    if (!why && chosen && chosen.hasAttribute("data-first-frame-only") && this.frameSeconds > 0) {
      why = chosen.getAttribute("data-first-frame-message") || "Paint on the first frame for this route.";
    }
    if (submit) submit.disabled = !!why;
    if (help) help.textContent = why;
  };

  Painter.prototype.say = function (text) { this.status.textContent = text; };

  // Black, then white wherever paint alpha >= 128: only tiles that ever held
  // paint are read back. Binarized before the JPEG encoder sees it, so no
  // grey halo reaches the provider.
  Painter.prototype.exportDataURL = function () {
    var self = this;
    var out = document.createElement("canvas");
    out.width = this.W;
    out.height = this.H;
    var octx = out.getContext("2d");
    octx.fillStyle = "#000";
    octx.fillRect(0, 0, this.W, this.H);
    if (this.content.size > this.cols * this.rows / 3) {
      // Mostly painted: one read of the whole frame beats hundreds of tile reads.
      var whole = this.ctx.getImageData(0, 0, this.W, this.H);
      binarize(whole);
      octx.putImageData(whole, 0, 0);
    } else {
      this.content.forEach(function (index) {
        var r = self.tileRect(index);
        var image = self.ctx.getImageData(r.x, r.y, r.w, r.h);
        binarize(image);
        octx.putImageData(image, r.x, r.y);
      });
    }
    var url = out.toDataURL("image/jpeg", 0.95);
    out.width = out.height = 0;
    return url;
  };

  Painter.prototype.onSubmit = function (e) {
    this.refreshState();
    var submit = this.form.querySelector("[data-submit]");
    if (submit && submit.disabled) { e.preventDefault(); return; }
    this.sending = true;
    var reuse = this.reuseChosen();
    this.form.querySelectorAll("[data-reuse]").forEach(function (r) { if (r !== reuse) r.checked = false; });
    this.form.elements.frame_seconds.value = this.frameSeconds.toFixed(3);
    if (submit) submit.disabled = true;
    if (reuse || (this.maskOptional && !this.coverage)) {
      this.form.elements.mask_data.value = "";
      if (submit) submit.textContent = "Sending…";
      return;
    }
    // Exporting a 4K mask takes a moment: show it, then send.
    e.preventDefault();
    if (submit) submit.textContent = "Preparing the mask…";
    var self = this;
    window.requestAnimationFrame(function () {
      window.setTimeout(function () {
        self.form.elements.mask_data.value = self.exportDataURL();
        if (submit) submit.textContent = "Sending…";
        HTMLFormElement.prototype.submit.call(self.form);
      }, 0);
    });
  };

  function init(root) {
    var scope = root.querySelectorAll ? root : document;
    var found = scope.matches && scope.matches("[data-mask-painter]") ? [scope] : scope.querySelectorAll("[data-mask-painter]");
    Array.prototype.forEach.call(found, function (el) {
      if (el.__maskPainter) return;
      el.__maskPainter = new Painter(el);
    });
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Loaded after the page was parsed: start at once (init skips painters already started).
  if (document.readyState !== "loading") init(document);
})();
