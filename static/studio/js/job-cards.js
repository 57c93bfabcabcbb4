// Job cards: the elapsed time ticks every second between polls. The server's
// card only changes when the job does, so an unchanged poll is a cheap 304.
(function () {
  "use strict";

  function format(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = Math.floor(seconds % 60);
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-elapsed-from]").forEach(function (node) {
      var from = parseInt(node.dataset.elapsedFrom, 10);
      if (!isNaN(from)) node.textContent = format(Math.max(0, now - from));
    });
  }

  if (window.htmx) window.htmx.onLoad(tick);
  window.setInterval(tick, 1000);
})();
