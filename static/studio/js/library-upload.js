// Reference library uploads: drop several files or pick them, see previews first.
// The form posts normally without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var ACCEPTED = ["image/jpeg", "image/png", "image/webp"];

  function renderPreviews(zone, files) {
    var list = zone.querySelector("[data-previews]");
    list.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    list.innerHTML = "";
    Array.prototype.forEach.call(files, function (file) {
      var item = document.createElement("li");
      if (ACCEPTED.indexOf(file.type) >= 0) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = "";
        item.appendChild(img);
      }
      item.appendChild(document.createTextNode(file.name));
      item.title = file.name;
      list.appendChild(item);
    });
  }

  function initForm(form) {
    if (form.dataset.bound) return;
    form.dataset.bound = "1";
    var zone = form.querySelector("[data-dropzone]");
    var input = zone.querySelector('input[type="file"]');
    var status = form.querySelector("[data-upload-status]");
    var submit = form.querySelector("[data-upload-submit]");

    function describe() {
      var count = input.files.length;
      status.textContent = count ? count + " image" + (count === 1 ? "" : "s") + " ready to upload" : "";
      submit.disabled = count === 0;
      renderPreviews(zone, input.files);
    }

    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("is-over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      var transfer = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { transfer.items.add(f); });
      Array.prototype.forEach.call(event.dataTransfer.files, function (f) { transfer.items.add(f); });
      input.files = transfer.files;
      describe();
    });
    input.addEventListener("change", describe);
    form.addEventListener("htmx:beforeRequest", function () { status.textContent = "Uploading…"; });
    describe();
  }

  function init(root) {
    root.querySelectorAll("form[data-upload-form]").forEach(initForm);
  }

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
