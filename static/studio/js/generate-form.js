// The generate form's browser-only parts: the library picker for image slots,
// dropping or pasting an image into a slot, the prompt's character count, "Use" on an earlier prompt, and no double post
// without htmx. Which options, slots and cost the form shows is the server's
// business: a change of mode, provider or model re-renders the form through
// htmx (see studio/forms/generate.py). The form works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

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

  // A dropped or pasted image goes to the server with the form's values: the
  // library's own checks store it, and the answer is the form again with the
  // slot holding it (or the slot saying why not).
  function uploadToSlot(form, slot, file) {
    if (slot.classList.contains("is-uploading")) return;
    slot.classList.add("is-uploading");
    var data = new FormData(form);
    data.append("slot_upload", slot.dataset.slotName);
    data.append("images", file, file.name || "pasted.png");
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error(response.statusText);
      return response.text();
    }).then(function (html) {
      var name = slot.dataset.slotName;
      if (window.htmx && window.htmx.swap) {
        window.htmx.swap(form, html, { swapStyle: "outerHTML" });
      } else {
        form.outerHTML = html;
        init(document);
      }
      var fresh = document.querySelector('[data-slot-name="' + name + '"] [data-slot-preview]');
      if (fresh) fresh.focus();
    }).catch(function () {
      slot.classList.remove("is-uploading");
      var note = slot.querySelector("[data-slot-upload-error]") || document.createElement("p");
      note.className = "errorlist";
      note.setAttribute("role", "alert");
      note.setAttribute("data-slot-upload-error", "");
      note.textContent = "The image could not be uploaded: try the library page.";
      slot.appendChild(note);
    });
  }

  function firstImage(list) {
    for (var i = 0; list && i < list.length; i++) {
      var file = list[i].getAsFile ? list[i].getAsFile() : list[i];
      if (file && /^image\//.test(file.type)) return file;
    }
    return null;
  }

  function initDrop(form, slot) {
    slot.addEventListener("dragover", function (event) {
      event.preventDefault();
      slot.classList.add("is-over");
    });
    slot.addEventListener("dragleave", function () { slot.classList.remove("is-over"); });
    slot.addEventListener("drop", function (event) {
      event.preventDefault();
      slot.classList.remove("is-over");
      var file = firstImage(event.dataTransfer && event.dataTransfer.files);
      if (file) uploadToSlot(form, slot, file);
    });
    slot.addEventListener("paste", function (event) {
      var file = firstImage(event.clipboardData && event.clipboardData.items);
      if (!file) return;
      event.preventDefault();
      uploadToSlot(form, slot, file);
    });
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
    form.querySelectorAll("[data-slot]").forEach(function (slot) {
      var select = slot.querySelector("select");
      select.addEventListener("change", function () { showPreview(slot); });
      slot.querySelector("[data-slot-preview]").addEventListener("click", function () { openPicker(slot); });
      initDrop(form, slot);
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
