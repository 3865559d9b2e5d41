/* The video page while processing runs: polls the page's live URL and swaps in fresh HTML for the status panel
   (badge, progress, jobs, preview) and the action buttons, without a reload. It stops once nothing is running. */
"use strict";
(function () {
  function start(root) {
    const url = root.dataset.liveUrl;
    const interval = Number(root.dataset.interval) || 2000;
    const shown = {};

    async function poll() {
      let final = false;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) {
          const answer = await response.json();
          for (const [id, html] of Object.entries(answer.panels)) {
            const element = document.getElementById(id);
            if (element && shown[id] !== html) {
              element.innerHTML = html;
              shown[id] = html;
            }
          }
          root.dataset.status = answer.status;
          final = answer.final;
        }
      } catch (ignored) {
        /* the server is away (a restart): try again at the next tick */
      }
      if (!final) window.setTimeout(poll, interval);
    }

    if (root.dataset.live === "true") window.setTimeout(poll, interval);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.getElementById("video-live");
    if (root) start(root);
  });
})();
