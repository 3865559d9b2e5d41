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

  // Calls `fire` every `everyMs` of playing time: a pause keeps what is left of the current period, so
  // pausing and resuming neither skips a call nor makes an early one.
  function Every(everyMs, fire) {
    var left = everyMs, due = null, timer = null;
    function tick() {
      fire();
      var now = performance.now();
      due = Math.max(due + everyMs, now + everyMs / 2);  // steady period; no burst after a throttled tab
      timer = setTimeout(tick, due - now);
    }
    this.start = function () {
      if (timer !== null) { return; }
      due = performance.now() + left;
      timer = setTimeout(tick, left);
    };
    this.stop = function () {
      if (timer === null) { return; }
      clearTimeout(timer);
      timer = null;
      left = Math.max(0, due - performance.now());
    };
  }

  function position() {
    return Math.round(Math.max(0, video.currentTime || 0) * 1000) / 1000;
  }

  function report(eventType) {
    var body = {
      videoId: config.videoId, sessionId: sessionId, eventType: eventType,
      position: position(), playbackDuration: Math.round(watched * 1000) / 1000
    };
    if (viewerId) { body.viewerId = viewerId; }
    fetch(config.analyticsUrl, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), keepalive: true
    }).catch(function () { /* analytics never disturb playback */ });
  }

  function callClientWebhook(hook) {
    var form = new FormData();
    form.append("uuid", config.videoId);
    form.append("position", String(position()));
    var value = params.get(hook.requestField);
    if (value !== null) { form.append(hook.responseField, value); }
    // A simple request (FormData, no custom headers, no-cors): no preflight, and the answer is not read.
    fetch(hook.url, { method: "POST", body: form, mode: "no-cors", keepalive: true })
      .catch(function () { /* the receiver may be down; try again next period */ });
  }

  var schedules = [new Every(PROGRESS_EVERY_MS, function () { report("progress"); })];
  config.clientWebhooks.forEach(function (hook) {
    var rpm = Math.min(60, Math.max(1, Number(hook.rpm) || 1));
    schedules.push(new Every(60000 / rpm, function () { callClientWebhook(hook); }));
  });

  function start() { schedules.forEach(function (s) { s.start(); }); }
  function stop() { schedules.forEach(function (s) { s.stop(); }); }

  video.addEventListener("play", function () { lastTime = video.currentTime; report("play"); start(); });
  video.addEventListener("pause", function () {
    stop();
    if (!video.ended) { report("pause"); }
  });
  video.addEventListener("ended", function () { stop(); report("complete"); });
  video.addEventListener("timeupdate", function () {
    if (video.paused || lastTime === null) { return; }
    var delta = video.currentTime - lastTime;
    if (delta > 0 && delta < 2) { watched += delta; }
    lastTime = video.currentTime;
  });
  video.addEventListener("seeking", function () { lastTime = video.currentTime; });
  // Leaving the page while playing ends the viewing session: report it (keepalive outlives the page).
  window.addEventListener("pagehide", function () {
    if (!video.paused && !video.ended) { stop(); report("pause"); }
  });
})();
