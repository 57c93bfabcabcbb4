// Gallery tiles: a muted preview plays while the pointer (or focus) is on a poster.
(function () {
  "use strict";
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function start(tile) {
    if (reduced || tile.querySelector("video") || !tile.dataset.previewSrc) return;
    var video = document.createElement("video");
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    video.preload = "auto";
    video.setAttribute("aria-hidden", "true");
    video.src = tile.dataset.previewSrc;
    tile.appendChild(video);
    var played = video.play();
    if (played && played.catch) played.catch(function () {});
  }

  function stop(tile) {
    var video = tile.querySelector("video");
    if (!video) return;
    video.pause();
    video.removeAttribute("src");
    video.load();
    video.remove();
  }

  function initTile(tile) {
    if (tile.dataset.bound) return;
    tile.dataset.bound = "1";
    tile.addEventListener("pointerenter", function (event) { if (event.pointerType !== "touch") start(tile); });
    tile.addEventListener("pointerleave", function () { stop(tile); });
    tile.addEventListener("focus", function () { start(tile); });
    tile.addEventListener("blur", function () { stop(tile); });
  }

  function init(root) {
    root.querySelectorAll(".tile-media[data-preview-src]").forEach(initTile);
    if (root.matches && root.matches(".tile-media[data-preview-src]")) initTile(root);
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
