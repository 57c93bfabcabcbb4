// Job cards. The page has ONE poller (#job-poller) that sends the id and
// version of every running card and gets back only the cards that changed;
// the server stops it (status 286) once nothing on the page is moving. A card
// added later (a new job, a retry) starts it again. Between polls the
// elapsed time ticks here. Without JS a reload shows the current state.
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

  // htmx cancels an element's polling for good on 286: a fresh copy of the
  // poller polls again.
  function restartPoller() {
    var poller = document.getElementById("job-poller");
    if (!poller || !poller.dataset.stopped) return;
    if (!document.querySelector(".job-card > [name=card]")) return;
    var fresh = poller.cloneNode(false);
    delete fresh.dataset.stopped;
    poller.replaceWith(fresh);
    window.htmx.process(fresh);
  }

  if (window.htmx) {
    document.addEventListener("htmx:afterRequest", function (event) {
      var elt = event.detail.elt;
      if (elt && elt.id === "job-poller" && event.detail.xhr && event.detail.xhr.status === 286) {
        elt.dataset.stopped = "1";
      }
    });
    window.htmx.onLoad(function () {
      tick();
      restartPoller();
    });
  }
  window.setInterval(tick, 1000);
})();
