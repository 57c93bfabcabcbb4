// The video page: "Use this frame" follows the player, so pausing picks the frame.
(function () {
  "use strict";

  function init(root) {
    root.querySelectorAll("form[data-frame-form]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      var player = document.querySelector("video[data-player]");
      var field = form.querySelector("[data-frame-at]");
      if (!player || !field) return;
      var follow = function () { field.value = player.currentTime.toFixed(2); };
      ["timeupdate", "seeked", "pause"].forEach(function (name) { player.addEventListener(name, follow); });
      // Typing a time moves the player there.
      field.addEventListener("change", function () {
        var at = parseFloat(field.value);
        if (!isNaN(at)) player.currentTime = at;
      });
    });
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
