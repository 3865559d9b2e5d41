// MediaHooks player: adaptive HLS (hls.js where the browser has Media Source Extensions, the browser's own HLS
// where it has no MSE, MP4 where there is no HLS), a quality menu, playlists played in order, first-party
// analytics and client-side webhooks. No framework needed.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("player-config").textContent);
  var video = document.getElementById("player-video");
  var menu = document.getElementById("player-quality");
  var statusLine = document.getElementById("player-status");
  var playlistList = document.getElementById("player-playlist");
  var params = new URLSearchParams(window.location.search);
  var sessionId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() :
    Date.now().toString(36) + Math.random().toString(36).slice(2);
  var viewerId = params.get("viewer") || "";
  var PROGRESS_EVERY_MS = 10000;
  var HLS_TYPE = "application/vnd.apple.mpegurl";
  var items = config.items || [];
  var index = 0;
  var item = items[0];
  var engine = null;        // what plays the current item: {kind: "hls.js" | "native" | "files", ...}
  var liveRetries = 0;      // fatal errors of the live stream in a row
  var LIVE_RETRIES = 10, LIVE_RETRY_MS = 3000;
  var switching = false;    // a quality switch reloads the media: its pause/play is not the viewer's
  var watched = 0;          // seconds of the current item actually played in this session
  var lastTime = null;      // currentTime at the previous timeupdate while playing

  function say(text) { if (statusLine) { statusLine.textContent = text || ""; } }

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
    if (!item || !item.analytics) { return; }
    var body = {
      videoId: item.id, sessionId: sessionId, eventType: eventType,
      position: position(), playbackDuration: Math.round(watched * 1000) / 1000
    };
    if (viewerId) { body.viewerId = viewerId; }
    fetch(config.analyticsUrl, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), keepalive: true
    }).catch(function () { /* analytics never disturb playback */ });
  }

  function callClientWebhook(hook) {
    var form = new FormData();
    form.append("uuid", item.id);
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

  // --- what plays: hls.js, the browser's own HLS, or progressive files ----------------------------------

  function hlsJsUsable() {
    return typeof window.Hls !== "undefined" && window.Hls.isSupported() && params.get("hls") !== "native";
  }

  function playableSource(entry) {
    for (var i = 0; i < entry.sources.length; i++) {
      if (video.canPlayType(entry.sources[i][1])) { return entry.sources[i][0]; }
    }
    return entry.sources.length ? entry.sources[0][0] : null;
  }

  // Load another URL into the element where the viewer was: same position, playing if it was.
  function reload(url) {
    var at = video.currentTime, playing = !video.paused && !video.ended;
    switching = true;
    video.src = url;
    video.addEventListener("loadedmetadata", function restore() {
      video.removeEventListener("loadedmetadata", restore);
      if (at > 0 && isFinite(at)) { video.currentTime = at; }
      switching = false;
      if (playing) { video.play().catch(function () { /* autoplay rules: the viewer presses play */ }); }
    });
  }

  // The variant playlists of a master playlist, by height, for browsers that play HLS themselves.
  function variantsOf(masterUrl) {
    return fetch(masterUrl, { credentials: "same-origin" }).then(function (answer) { return answer.text(); })
      .then(function (text) {
        var found = [], lines = text.split(/\r?\n/);
        for (var i = 0; i < lines.length; i++) {
          if (lines[i].indexOf("#EXT-X-STREAM-INF:") !== 0) { continue; }
          var size = /RESOLUTION=(\d+)x(\d+)/.exec(lines[i]);
          var uri = (lines[i + 1] || "").trim();
          if (uri && uri[0] !== "#") { found.push({ height: size ? Number(size[2]) : 0, url: new URL(uri, masterUrl).href }); }
        }
        return found;
      });
  }

  function nearest(list, height, key) {
    var best = -1, distance = Infinity;
    list.forEach(function (entry, i) {
      var d = Math.abs((entry[key] || 0) - height);
      if (d < distance) { best = i; distance = d; }
    });
    return best;
  }

  function useHlsJs(entry) {
    var hls = new window.Hls({ enableWorker: true, capLevelToPlayerSize: false });
    var current = { kind: "hls.js", hls: hls, levels: [] };
    hls.on(window.Hls.Events.FRAG_BUFFERED, function () {
      if (liveRetries) { liveRetries = 0; say(""); }
    });
    hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
      // Each menu entry plays the level of the same height (the ladder's renditions are its variants).
      current.levels = entry.qualities.map(function (q) { return nearest(hls.levels, q.height, "height"); });
      if (menu && menu.value !== "auto") { choose(); }
    });
    hls.on(window.Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) { return; }
      if (entry.kind === "livestream") {
        // A stream that just went live has no playlist for its first seconds; one that ended has none again.
        hls.destroy();
        if (engine === current) { engine = null; }
        liveRetries += 1;
        if (liveRetries > LIVE_RETRIES) { say("The livestream has ended, or cannot be reached."); return; }
        say("Waiting for the stream…");
        setTimeout(function () { if (item === entry) { attach(entry, true); } }, LIVE_RETRY_MS);
      } else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else if (entry.sources.length) {
        useFiles(entry);  // the HLS files are unreachable: play the MP4 renditions instead
      } else {
        say("This video cannot be played right now.");
      }
    });
    hls.loadSource(entry.hls);
    hls.attachMedia(video);
    return current;
  }

  function useNative(entry) {
    var current = { kind: "native", variants: [] };
    video.src = entry.hls;
    if (entry.qualities.length) {
      variantsOf(entry.hls).then(function (variants) { current.variants = variants; })
        .catch(function () { /* the menu then switches between the MP4 renditions */ });
    }
    return current;
  }

  function useFiles(entry) {
    teardown();
    engine = { kind: "files" };
    var url = playableSource(entry);
    if (url && video.currentSrc !== url) { video.src = url; }
    return engine;
  }

  function teardown() {
    if (engine && engine.kind === "hls.js") { engine.hls.destroy(); }
    engine = null;
  }

  // The viewer picked a quality: hls.js switches level at once (fetching that variant's playlist and
  // segments); the browser's own HLS loads that variant's playlist; progressive playback loads that MP4.
  function choose() {
    if (!engine || !menu) { return; }
    var value = menu.value, auto = value === "auto", quality = auto ? null : item.qualities[Number(value)];
    if (engine.kind === "hls.js") {
      var level = auto ? -1 : engine.levels[Number(value)];
      engine.hls.currentLevel = level === undefined ? -1 : level;  // -1: hls.js picks by bandwidth again
      return;
    }
    if (engine.kind === "native") {
      var variant = auto ? null : engine.variants[nearest(engine.variants, quality.height, "height")];
      var target = auto ? item.hls : (variant ? variant.url : quality.url);
      if (video.currentSrc !== target) { reload(target); }
      return;
    }
    var file = auto ? playableSource(item) : quality.url;
    if (file && video.currentSrc !== file) { reload(file); }
  }

  function fillMenu(entry) {
    if (!menu) { return; }
    menu.innerHTML = "";
    menu.appendChild(new Option("Auto", "auto", true, true));
    entry.qualities.forEach(function (q, i) { menu.appendChild(new Option(q.label, String(i))); });
    menu.closest("label").hidden = entry.qualities.length === 0;
  }

  function attach(entry, first) {
    teardown();
    item = entry;
    watched = 0;
    lastTime = null;
    if (!first) {
      fillMenu(entry);
      video.poster = entry.poster || "";
      video.setAttribute("aria-label", entry.title);
    }
    if (entry.hls && hlsJsUsable()) {
      engine = useHlsJs(entry);
    } else if (entry.hls && video.canPlayType(HLS_TYPE)) {
      engine = useNative(entry);
    } else {
      engine = { kind: "files" };
      if (!first || entry.hls) { useFiles(entry); }  // the first item's files are the page's <source>s
    }
    if (playlistList) {
      Array.prototype.forEach.call(playlistList.children, function (li) {
        if (Number(li.dataset.index) === index) { li.setAttribute("aria-current", "true"); }
        else { li.removeAttribute("aria-current"); }
      });
    }
  }

  if (menu) { menu.addEventListener("change", choose); }

  video.addEventListener("play", function () {
    lastTime = video.currentTime;
    if (!switching) { report("play"); }
    start();
  });
  video.addEventListener("pause", function () {
    stop();
    if (!video.ended && !switching) { report("pause"); }
  });
  video.addEventListener("ended", function () {
    stop();
    report("complete");
    if (index + 1 < items.length) {  // a playlist goes on with its next video
      index += 1;
      attach(items[index], false);
      video.play().catch(function () { /* autoplay rules: the viewer presses play */ });
    }
  });
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

  if (item) { attach(item, true); }
  window.mediahooksPlayer = {  // for the page's own scripts and tests: which engine plays what
    engine: function () { return engine ? engine.kind : null; },
    item: function () { return item ? item.id : null; },
    levelHeight: function () {  // the height of the variant hls.js plays now
      if (!engine || engine.kind !== "hls.js" || engine.hls.currentLevel < 0) { return null; }
      return engine.hls.levels[engine.hls.currentLevel].height;
    }
  };
})();
