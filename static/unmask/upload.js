// Check-a-video form: drag and drop, client-side limits, and an upload progress bar (XHR).
(() => {
  const form = document.getElementById("submit-form");
  if (!form) return;
  const input = document.getElementById("id_file");
  const urlInput = document.getElementById("id_url");
  const zone = document.getElementById("dropzone");
  const chosen = document.getElementById("chosen");
  const errorBox = document.getElementById("submit-error");
  const progress = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const text = document.getElementById("upload-text");
  const button = document.getElementById("submit-button");
  const maxBytes = Number(form.dataset.maxBytes);
  const extensions = form.dataset.extensions.split(",");

  const showError = (message) => {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  };

  const problemWith = (file) => {
    const ext = file.name.includes(".") ? file.name.split(".").pop().toLowerCase() : "";
    if (!extensions.includes(ext)) return `Unmask checks video files (${extensions.join(", ")}); “${file.name}” is not one of them.`;
    if (file.size > maxBytes) return `This file is larger than the ${form.dataset.maxSize} limit. Trim the video or check it by link instead.`;
    return "";
  };

  const choose = () => {
    const file = input.files[0];
    chosen.textContent = file ? `${file.name} (${(file.size / 1048576).toFixed(1)} MB)` : "";
    showError(file ? problemWith(file) : "");
    if (file) urlInput.value = "";
  };
  input.addEventListener("change", choose);

  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.remove("over");
  }));
  zone.addEventListener("drop", (event) => {
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    choose();
  });

  form.addEventListener("submit", (event) => {
    const file = input.files[0];
    if (!file) return; // a link posts as a normal form
    event.preventDefault();
    const problem = problemWith(file);
    if (problem) return showError(problem);
    showError("");
    const data = new FormData(form);
    data.delete("url");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      bar.style.width = `${percent}%`;
      text.textContent = percent < 100 ? `Uploading… ${percent}%` : "Uploaded; starting the check…";
    });
    xhr.addEventListener("load", () => {
      const body = xhr.response || {};
      if (xhr.status < 300 && body.result_url) {
        window.location.assign(body.result_url);
        return;
      }
      progress.hidden = true;
      button.disabled = false;
      showError(body.error || `The upload failed (HTTP ${xhr.status}). Please try again.`);
    });
    xhr.addEventListener("error", () => {
      progress.hidden = true;
      button.disabled = false;
      showError("The connection broke during the upload. Please try again.");
    });
    progress.hidden = false;
    button.disabled = true;
    xhr.send(data);
  });
})();
