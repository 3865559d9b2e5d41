// MediaHooks player: first-party analytics and client-side webhooks. No framework needed.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("player-config").textContent);
  var video = document.getElementById("player-video");
  var params = new URLSearchParams(window.location.search);
  var sessionId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() :
    Date.now().toString(36) + Math.random().toString(36).slice(2);
  var viewerId = params.get("viewer") || "";
  var PROGRESS_EVERY_MS = 10000;
  var watched = 0;          // seconds actually played in this session
  var lastTime = null;      // currentTime at the previous timeupdate while playing
  var timers = [];

  function report(eventType) {
    var body = {
      videoId: config.videoId, sessionId: sessionId, eventType: eventType,
      position: Math.max(0, video.currentTime || 0), playbackDuration: Math.round(watched * 1000) / 1000
    };
    if (viewerId) { body.viewerId = viewerId; }
    fetch(config.analyticsUrl, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), keepalive: true
    }).catch(function () { /* analytics never disturb playback */ });
  }

  function callClientWebhook(hook) {
    var form = new FormData();
    form.append("uuid", config.videoId);
    form.append("position", String(Math.round((video.currentTime || 0) * 1000) / 1000));
    var value = params.get(hook.requestField);
    if (value !== null) { form.append(hook.responseField, value); }
    fetch(hook.url, { method: "POST", body: form, mode: "no-cors", keepalive: true })
      .catch(function () { /* the receiver may be down; try again next tick */ });
  }

  function startTimers() {
    stopTimers();
    timers.push(setInterval(function () { report("progress"); }, PROGRESS_EVERY_MS));
    config.clientWebhooks.forEach(function (hook) {
      var every = 60000 / Math.min(60, Math.max(1, hook.rpm));
      timers.push(setInterval(function () { callClientWebhook(hook); }, every));
    });
  }

  function stopTimers() {
    timers.forEach(clearInterval);
    timers = [];
  }

  video.addEventListener("play", function () { lastTime = video.currentTime; report("play"); startTimers(); });
  video.addEventListener("pause", function () {
    stopTimers();
    if (!video.ended) { report("pause"); }
  });
  video.addEventListener("ended", function () { stopTimers(); report("complete"); });
  video.addEventListener("timeupdate", function () {
    if (video.paused || lastTime === null) { return; }
    var delta = video.currentTime - lastTime;
    if (delta > 0 && delta < 2) { watched += delta; }
    lastTime = video.currentTime;
  });
  video.addEventListener("seeking", function () { lastTime = video.currentTime; });
})();
