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

  if (window.htmx) {
    window.htmx.onLoad(initTeamSwitcher);
  } else {
    document.addEventListener("DOMContentLoaded", function () { initTeamSwitcher(document); });
  }
})();
