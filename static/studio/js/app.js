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

  // Forms marked data-confirm ask before submitting (archive, remove member…).
  function initConfirm(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.confirmBound) return;
      form.dataset.confirmBound = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  function init(root) {
    initTeamSwitcher(root);
    initConfirm(root);
  }

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  }
})();
