// Small site-wide behaviours. Pages work without this file.
(function () {
  "use strict";

  // The team switcher submits as soon as a team is chosen; without JS a
  // <noscript> button does the same.
  function initTeamSwitcher(root) {
    root.querySelectorAll("form[data-team-switcher] select").forEach(function (select) {
      if (select.dataset.bound) return;
      select.dataset.bound = "1";
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // A poller marked data-poll-when-visible skips its turn while the tab is
  // hidden. (An htmx trigger filter would do the same, but htmx evaluates
  // filters as code, which the Content-Security-Policy forbids.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute("data-poll-when-visible") && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });

  if (window.htmx) {
    window.htmx.onLoad(initTeamSwitcher);
  } else {
    document.addEventListener("DOMContentLoaded", function () { initTeamSwitcher(document); });
  }
})();
