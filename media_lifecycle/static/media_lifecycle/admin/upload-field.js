/* The admin's resumable upload field: sends the picked file to /api/uploads/ with tus-js-client (in chunks,
   retried and resumed from the server's offset after a dropped connection), shows progress, and puts the finished
   upload's id into the hidden input the form submits. Errors from the server are shown next to the field. */
"use strict";
(function () {
  const RETRY_DELAYS = [0, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 15000, 20000, 30000, 30000, 30000, 60000];

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function human(bytes) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function serverMessage(error) {
    const response = error && error.originalResponse;
    if (response) {
      const status = response.getStatus();
      try {
        const detail = JSON.parse(response.getBody()).detail;
        if (detail) return detail;
      } catch (ignored) { /* not JSON: fall through */ }
      if (status) return "The server answered " + status + ".";
    }
    return "The upload failed: " + (error && error.message ? error.message : error);
  }

  function setup(root) {
    const hidden = root.querySelector("input[type=hidden]");
    const picker = root.querySelector(".tus-upload-file");
    const progress = root.querySelector(".tus-upload-progress");
    const bar = root.querySelector(".tus-upload-bar");
    const percent = root.querySelector(".tus-upload-percent");
    const status = root.querySelector(".tus-upload-status");
    const error = root.querySelector(".tus-upload-error");
    const cancel = root.querySelector(".tus-upload-cancel");
    const form = root.closest("form");
    const maxBytes = Number(root.dataset.maxBytes);
    let upload = null;
    let running = false;

    function showError(message) {
      error.textContent = message;
      error.hidden = false;
      root.classList.add("tus-upload-failed");
    }

    function clearError() {
      error.textContent = "";
      error.hidden = true;
      root.classList.remove("tus-upload-failed");
    }

    let uploading = "";
    let resuming = false;

    function showProgress(sent, total) {
      const value = total ? Math.floor((sent * 100) / total) : 100;
      bar.value = value;
      percent.textContent = value + "%";
      if (resuming && sent > 0) {
        resuming = false;
        status.textContent = uploading + " Resumed after a dropped connection.";
      }
    }

    function stop() {
      running = false;
      cancel.hidden = true;
      root.classList.remove("tus-upload-running");
    }

    picker.addEventListener("change", function () {
      clearError();
      const file = picker.files[0];
      if (!file) return;
      if (upload && running) upload.abort();
      hidden.value = "";
      if (file.size > maxBytes) {
        showError(file.name + " is " + human(file.size) + "; the largest upload accepted (MAX_UPLOAD_BYTES) is " +
          human(maxBytes) + ".");
        picker.value = "";
        status.textContent = "";
        return;
      }
      progress.hidden = false;
      showProgress(0, file.size);
      uploading = "Uploading " + file.name + " (" + human(file.size) + ")…";
      status.textContent = uploading;
      running = true;
      cancel.hidden = false;
      root.classList.add("tus-upload-running");
      upload = new tus.Upload(file, {
        endpoint: root.dataset.endpoint,
        chunkSize: Number(root.dataset.chunkBytes) || Infinity,
        retryDelays: RETRY_DELAYS,
        metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
        headers: { "X-CSRFToken": csrfToken() },
        removeFingerprintOnSuccess: true,
        onProgress: showProgress,
        onShouldRetry: function (err) {
          const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
          const retry = !code || code === 409 || code === 423 || code >= 500;
          if (retry) {
            resuming = true;
            status.textContent = "Connection lost: resuming " + file.name + " where it stopped…";
          }
          return retry;
        },
        onError: function (err) {
          stop();
          status.textContent = "";
          showError(serverMessage(err));
        },
        onSuccess: function () {
          stop();
          showProgress(file.size, file.size);
          hidden.value = upload.url.split("/").filter(Boolean).pop();
          status.textContent = file.name + " uploaded (" + human(file.size) + "). Save to use it.";
        },
      });
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
        upload.start();
      });
    });

    cancel.addEventListener("click", function () {
      if (!upload) return;
      upload.abort(true);  /* terminate: the server deletes what arrived */
      stop();
      picker.value = "";
      hidden.value = "";
      progress.hidden = true;
      status.textContent = "Upload cancelled.";
    });

    if (form) {
      form.addEventListener("submit", function (event) {
        if (running) {
          event.preventDefault();
          showError("The upload is still running: wait until it reaches 100%, then save.");
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".tus-upload").forEach(setup);
  });
})();
