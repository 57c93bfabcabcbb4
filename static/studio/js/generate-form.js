// The generate form: only valid combinations can be chosen, and the cost follows.
// Configured by the capabilities JSON the server renders inside the form; the
// server validates everything again, and the form works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function readCaps(form) {
    var node = form.querySelector("#" + form.dataset.capsId);
    try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
  }

  function checkedValue(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function findProvider(caps, name) {
    return caps.providers.filter(function (p) { return p.name === name; })[0] || null;
  }

  function setOptions(select, options, wanted) {
    var keep = options.some(function (o) { return o.value === wanted; }) ? wanted : (options[0] || {}).value;
    select.innerHTML = "";
    options.forEach(function (o) {
      var option = document.createElement("option");
      option.value = o.value;
      option.textContent = o.label;
      option.selected = o.value === keep;
      select.appendChild(option);
    });
  }

  function update(form, caps) {
    var mode = checkedValue(form, "mode");
    var providerSelect = form.querySelector('select[name="provider"]');
    var modelSelect = form.querySelector('select[name="model"]');
    var durationSelect = form.querySelector('select[name="duration_seconds"]');

    // Providers that cannot do this mode are greyed out.
    Array.prototype.forEach.call(providerSelect.options, function (option) {
      var provider = findProvider(caps, option.value);
      option.disabled = !provider || !provider.models.some(function (m) { return m.modes.indexOf(mode) >= 0; });
    });
    if (providerSelect.selectedOptions[0] && providerSelect.selectedOptions[0].disabled) {
      var firstEnabled = Array.prototype.filter.call(providerSelect.options, function (o) { return !o.disabled; })[0];
      if (firstEnabled) providerSelect.value = firstEnabled.value;
    }
    var provider = findProvider(caps, providerSelect.value);
    if (!provider) return;
    var models = provider.models.filter(function (m) { return m.modes.indexOf(mode) >= 0; });
    setOptions(modelSelect, models.map(function (m) { return { value: m.name, label: m.label }; }), modelSelect.value);
    var spec = models.filter(function (m) { return m.name === modelSelect.value; })[0];
    if (!spec) return;

    // Aspect ratios the model offers.
    var ratios = form.querySelectorAll('input[name="aspect_ratio"]');
    var ratioChecked = null;
    ratios.forEach(function (radio) {
      radio.disabled = spec.aspect_ratios.indexOf(radio.value) < 0;
      if (radio.checked && !radio.disabled) ratioChecked = radio;
    });
    if (!ratioChecked) {
      var firstRatio = Array.prototype.filter.call(ratios, function (r) { return !r.disabled; })[0];
      if (firstRatio) firstRatio.checked = true;
    }

    // Lengths: the model's own, or none when the provider fixes the length.
    var durationNote = form.querySelector("[data-duration-note]");
    if (spec.durations.length) {
      var wanted = durationSelect.value || String(Math.max.apply(null, spec.durations));
      setOptions(durationSelect, spec.durations.map(function (d) { return { value: String(d), label: d + " seconds" }; }), wanted);
      durationSelect.disabled = false;
      if (durationNote) durationNote.textContent = "";
    } else {
      setOptions(durationSelect, [{ value: "", label: "Set by the model" }], "");
      durationSelect.disabled = true;
      if (durationNote) durationNote.textContent = "This model sets the length itself.";
    }

    // Image slots: only this mode's group, only as many as the model takes.
    var limits = spec.images[mode] || [0, 0];
    form.querySelectorAll("[data-slot-group]").forEach(function (group) {
      var active = group.dataset.slotGroup === mode;
      group.hidden = !active;
      var slots = group.querySelectorAll("[data-slot]");
      slots.forEach(function (slot, index) {
        var shown = active && index < limits[1];
        slot.hidden = !shown;
        slot.querySelector("select").disabled = !shown;
      });
    });
    var slotHelp = form.querySelector(".slot-help");
    if (slotHelp) slotHelp.hidden = limits[1] === 0;

    var note = form.querySelector("[data-model-note]");
    if (note) note.textContent = spec.note || "";

    var estimate = form.querySelector("[data-estimate]");
    var estimateNote = form.querySelector("[data-estimate-note]");
    if (estimate) estimate.textContent = spec.cost + " credit" + (spec.cost === 1 ? "" : "s");
    if (estimateNote) estimateNote.textContent = spec.cost === 0 && !provider.remote ? "(free, rendered on this server)" : "";
  }

  // A dialog of the library's thumbnails, built from the slot's own <select>.
  function openPicker(slot) {
    var select = slot.querySelector("select");
    var preview = slot.querySelector("[data-slot-preview]");
    var dialog = document.createElement("dialog");
    dialog.className = "picker";
    dialog.setAttribute("aria-label", "Choose the " + preview.dataset.slotLabel.toLowerCase());
    var head = document.createElement("div");
    head.className = "picker-head";
    var title = document.createElement("h2");
    title.textContent = "Choose the " + preview.dataset.slotLabel.toLowerCase();
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-small";
    close.textContent = "Close";
    head.appendChild(title);
    head.appendChild(close);
    dialog.appendChild(head);
    var grid = document.createElement("div");
    grid.className = "picker-grid";
    Array.prototype.forEach.call(select.options, function (option) {
      var choice = document.createElement("button");
      choice.type = "button";
      choice.className = "picker-choice" + (option.selected ? " is-selected" : "");
      choice.setAttribute("aria-pressed", option.selected ? "true" : "false");
      if (option.dataset.thumb) {
        var img = document.createElement("img");
        img.src = option.dataset.thumb;
        img.alt = "";
        img.loading = "lazy";
        choice.appendChild(img);
      } else {
        var none = document.createElement("span");
        none.className = "picker-none";
        none.textContent = "∅";
        choice.appendChild(none);
      }
      var name = document.createElement("span");
      name.className = "picker-name";
      name.textContent = option.textContent;
      choice.appendChild(name);
      choice.addEventListener("click", function () {
        select.value = option.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        dialog.close();
      });
      grid.appendChild(choice);
    });
    dialog.appendChild(grid);
    var foot = document.createElement("p");
    foot.className = "help";
    var link = document.createElement("a");
    link.href = slot.closest("form").dataset.libraryUrl;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "upload them to the library";
    foot.appendChild(document.createTextNode("New images: "));
    foot.appendChild(link);
    foot.appendChild(document.createTextNode(", then reload this page."));
    dialog.appendChild(foot);
    close.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { dialog.remove(); preview.focus(); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
    document.body.appendChild(dialog);
    dialog.showModal();
    var current = grid.querySelector(".is-selected") || grid.querySelector("button");
    if (current) current.focus();
  }

  function showPreview(slot) {
    var select = slot.querySelector("select");
    var preview = slot.querySelector("[data-slot-preview]");
    var option = select.selectedOptions[0];
    preview.innerHTML = "";
    if (option && option.dataset.thumb) {
      var img = document.createElement("img");
      img.src = option.dataset.thumb;
      img.alt = "";
      preview.appendChild(img);
      slot.classList.add("has-image");
    } else {
      var empty = document.createElement("span");
      empty.className = "slot-empty";
      empty.textContent = "No image";
      preview.appendChild(empty);
      slot.classList.remove("has-image");
    }
  }

  function initPromptCount(form) {
    var prompt = form.querySelector("[data-prompt]");
    var count = form.querySelector("[data-prompt-count]");
    if (!prompt || !count) return;
    var show = function () { count.textContent = prompt.value.length ? prompt.value.length + " characters" : ""; };
    prompt.addEventListener("input", show);
    show();
  }

  function initForm(form) {
    if (form.dataset.bound) return;
    form.dataset.bound = "1";
    var caps = readCaps(form);
    if (caps) {
      form.addEventListener("change", function (event) {
        if (event.target.matches('[name="mode"], [name="provider"], [name="model"]')) update(form, caps);
      });
      update(form, caps);
    }
    form.querySelectorAll("[data-slot]").forEach(function (slot) {
      var select = slot.querySelector("select");
      select.addEventListener("change", function () { showPreview(slot); });
      slot.querySelector("[data-slot-preview]").addEventListener("click", function () { openPicker(slot); });
      showPreview(slot);
    });
    initPromptCount(form);
    // Without htmx a second click would post again; the idempotency key makes
    // that harmless, and this keeps it from happening at all.
    form.addEventListener("submit", function (event) {
      if (window.htmx) return;
      if (form.dataset.submitting) { event.preventDefault(); return; }
      form.dataset.submitting = "1";
      var button = form.querySelector("[data-submit]");
      window.setTimeout(function () { if (button) button.disabled = true; }, 0);
    });
  }

  // "Use" on an earlier prompt fills the form in place (the link works without JS).
  function initRecall(root) {
    root.querySelectorAll("[data-recall-prompt]").forEach(function (link) {
      if (link.dataset.bound) return;
      link.dataset.bound = "1";
      link.addEventListener("click", function (event) {
        var form = document.querySelector("form[data-generate-form]");
        if (!form) return;
        event.preventDefault();
        var prompt = form.querySelector("[data-prompt]");
        prompt.value = link.dataset.recallText;
        form.querySelector('input[name="recalled_prompt"]').value = link.dataset.recallPrompt;
        prompt.dispatchEvent(new Event("input"));
        form.scrollIntoView({ behavior: "smooth", block: "start" });
        prompt.focus();
      });
    });
  }

  function init(root) {
    root.querySelectorAll("form[data-generate-form]").forEach(initForm);
    if (root.matches && root.matches("form[data-generate-form]")) initForm(root);
    initRecall(document);
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
