/* train.js: the "Train it yourself" page. Drawing and controls only: the maths is nn.js,
 * and it runs in a Web Worker (train-worker.js), so the page stays responsive.
 *
 * Settings live in the URL (?trainer=sgd&lr=0.1&batch=32&hidden=10&init=he&seed=1), so a
 * setup can be shared as a link. Training pauses while the tab is hidden and resumes when
 * it is shown again. With prefers-reduced-motion the pictures and curves are redrawn once
 * a second instead of every frame.
 *
 * For tests and the curious, window.nnfsTrain exposes `ready` (a promise), state(),
 * weights() (a promise of {h, W1, b1, W2, b2} as flat row-major arrays), modelDocument()
 * and play(), pause(), step(), reset().
 */
(function () {
  "use strict";

  var root = document.getElementById("nnfs-train");
  if (!root) return;
  var $ = function (name) { return root.querySelector("[data-nnfs=" + name + "]"); };

  // ---- settings, in the form and in the URL ---------------------------------------------

  var FIELDS = {   // URL key: [form control, default, parse, check]
    trainer: ["trainer", "sgd", String, function (v) { return v === "sgd" || v === "gd"; }],
    lr: ["learning-rate", 0.1, Number, function (v) { return v > 0 && v <= 10; }],
    batch: ["batch-size", 32, Number, function (v) { return Number.isInteger(v) && v >= 1 && v <= 4000; }],
    hidden: ["hidden", 10, Number, function (v) { return Number.isInteger(v) && v >= 1 && v <= 64; }],
    init: ["init", "he", String, function (v) { return v === "he" || v === "uniform"; }],
    seed: ["seed", 1, Number, function (v) { return Number.isInteger(v) && v >= 0 && v < 4294967296; }],
  };
  var LIVE = { trainer: true, lr: true, batch: true };   // applied while training; the others reset the network

  function readURL() {
    var params = new URLSearchParams(location.search);
    for (var key in FIELDS) {
      var f = FIELDS[key], raw = params.get(key);
      var v = raw === null ? f[1] : f[2](raw);
      $(f[0]).value = String(f[3](v) ? v : f[1]);
    }
  }

  /** The form's settings -> the trainer's config, or null (and a message) if one is out of range. */
  function readForm() {
    var out = {};
    for (var key in FIELDS) {
      var f = FIELDS[key], el = $(f[0]), v = f[2](el.value);
      var ok = f[3](v);
      el.setAttribute("aria-invalid", ok ? "false" : "true");
      if (!ok) {
        setStatus("Check " + el.labels[0].textContent.toLowerCase() + ": " + (el.value || "empty") + " is out of range.");
        return null;
      }
      out[key] = v;
    }
    var url = new URL(location.href);
    for (key in out) url.searchParams.set(key, String(out[key]));
    history.replaceState(null, "", url);
    return { trainer: out.trainer, learningRate: out.lr, batchSize: out.batch, hidden: out.hidden,
             init: out.init, seed: out.seed };
  }

  // ---- the worker ------------------------------------------------------------------------

  var worker = new Worker(new URL(root.dataset.worker, document.baseURI).href);
  var state = { loaded: false, playing: false, config: null, steps: 0, epoch: 0, examples: 0, seconds: 0,
                devAccuracy: null, loss: null, confusion: null, W1: null, h: 0,
                lossCurve: [], devCurve: [], rate: [], hiddenPaused: false, lastReason: null, paints: 0, paintMs: 0 };
  var weightRequests = {}, nextRequest = 1, resolveReady, rejectReady;
  var ready = new Promise(function (resolve, reject) { resolveReady = resolve; rejectReady = reject; });
  ready.catch(function () {});

  worker.onmessage = function (event) {
    var msg = event.data;
    if (msg.type === "loaded") {
      state.loaded = true;
      $("data-size").textContent = msg.nTrain.toLocaleString("en") + " training and " +
        msg.nDev.toLocaleString("en") + " dev digits";
      reset();
      enable(true);
      resolveReady();
    } else if (msg.type === "progress") {
      progress(msg);
    } else if (msg.type === "weights") {
      weightRequests[msg.id](msg);
      delete weightRequests[msg.id];
    } else if (msg.type === "error") {
      setStatus("The trainer stopped: " + msg.message);
      root.classList.add("nnfs-failed");
      rejectReady(new Error(msg.message));
    }
  };
  worker.onerror = function (event) {
    setStatus("The trainer could not start (" + (event.message || "worker error") + ").");
    rejectReady(new Error(event.message || "worker error"));
  };

  function send(type, body) {
    body = body || {};
    body.type = type;
    worker.postMessage(body);
  }

  // ---- what the worker reports -------------------------------------------------------------

  function progress(msg) {
    if (msg.reason === "reset") {
      state.lossCurve = []; state.devCurve = []; state.rate = [];
      dirty.loss = dirty.dev = dirty.units = dirty.confusion = true;
    }
    state.lastReason = msg.reason;
    state.steps = msg.steps; state.epoch = msg.epoch; state.examples = msg.examples; state.seconds = msg.seconds;
    if (msg.losses.length) {                                   // one point per slice: its mean loss
      var sum = 0;
      for (var i = 0; i < msg.losses.length; i++) sum += msg.losses[i][1];
      state.loss = sum / msg.losses.length;
      addPoint(state.lossCurve, [msg.steps, state.loss]);
      dirty.loss = true;
    }
    state.rate.push([msg.seconds, msg.examples]);
    while (state.rate.length > 2 && msg.seconds - state.rate[0][0] > 1) state.rate.shift();  // about the last second
    if (msg.devAccuracy !== undefined) {
      state.devAccuracy = msg.devAccuracy;
      state.confusion = msg.confusion;
      state.W1 = msg.W1;
      state.h = msg.W1.length / 784;
      dirty.units = true; dirty.confusion = true;
      addPoint(state.devCurve, [msg.steps, msg.devAccuracy]);
      dirty.dev = true;
    }
    if (msg.reason === "diverged") {
      setPlaying(false);
      setStatus("The loss became infinite or NaN: the learning rate is too large for these weights. Lower it and press Reset.");
    } else if (msg.reason === "pause" || msg.reason === "step") {
      setPlaying(false);
      if (msg.reason === "pause" && !state.hiddenPaused) {
        setStatus("Paused after " + msg.steps.toLocaleString("en") + " steps, at " + percent(state.devAccuracy) +
                  " dev accuracy. Play goes on from here; Reset starts again.");
      }
    }
    if (msg.reason !== "slice") paintNow(); else schedule();
  }

  /** Keep a curve under MAX_POINTS by merging neighbours, so drawing it stays cheap. */
  var MAX_POINTS = 1200;
  function addPoint(curve, point) {
    curve.push(point);
    if (curve.length <= MAX_POINTS) return;
    for (var i = 0; 2 * i + 1 < curve.length; i++) {
      var a = curve[2 * i], b = curve[2 * i + 1];
      curve[i] = [b[0], (a[1] + b[1]) / 2];
    }
    curve.length = i;
  }

  // ---- drawing -------------------------------------------------------------------------------

  // What changed since the last redraw: only that is drawn again (worker messages arrive far more
  // often than redraws, and are coalesced into one redraw at most every MIN_INTERVAL ms).
  var dirty = { loss: true, dev: true, units: true, confusion: true, all: true };
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  var frame = null, lastPaint = 0, lastSlowPaint = 0, pendingTimer = null;

  var MIN_INTERVAL = 200;   // ms between redraws: 5 a second is smooth enough, and keeps the main thread free

  function schedule() {
    if (frame !== null || pendingTimer !== null) return;
    var wait = (reducedMotion.matches ? 1000 : MIN_INTERVAL) - (performance.now() - lastPaint);
    if (wait > 0) pendingTimer = setTimeout(function () { pendingTimer = null; schedule(); }, wait);
    else frame = requestAnimationFrame(function () { frame = null; paint(); });
  }

  function paintNow() {
    if (frame !== null) { cancelAnimationFrame(frame); frame = null; }
    paint();
  }

  function fmt(x, digits) { return x === null || !isFinite(x) ? "–" : x.toFixed(digits); }
  function percent(x) { return x === null ? "–" : (100 * x).toFixed(1) + "%"; }

  /** Set an element's text only when it changes (each change costs a layout). */
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

  // Canvas sizes come from a ResizeObserver, and colours are read before any DOM write, so a
  // redraw never forces a synchronous layout of this long page.
  var sizes = new Map(), colours = null;
  var resizer = new ResizeObserver(function (entries) {
    for (var e = 0; e < entries.length; e++) {
      sizes.set(entries[e].target, [entries[e].contentRect.width, entries[e].contentRect.height]);
    }
    dirty.all = true;
    schedule();
  });

  // Read again when the reader switches Material's palette (light/dark) or the OS scheme changes.
  new MutationObserver(function () { colours = null; dirty.all = true; paintNow(); })
    .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme", "data-md-color-primary"] });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () { colours = null; dirty.all = true; paintNow(); });

  function readColours() {
    var style = getComputedStyle(root);
    var get = function (name, fallback) { return style.getPropertyValue(name).trim() || fallback; };
    return { fg: get("--md-default-fg-color", "#000"), light: get("--md-default-fg-color--lighter", "#ccc"),
             line: get("--md-typeset-a-color", "#4051b5") };
  }

  function paint() {
    var t0 = lastPaint = performance.now();
    state.paints += 1;
    if (!colours) colours = readColours();
    setText($("steps"), state.steps.toLocaleString("en"));
    setText($("epoch"), fmt(state.epoch, 2));
    var r = state.rate, speed = null;
    if (r.length >= 2 && r[r.length - 1][0] > r[0][0]) speed = (r[r.length - 1][1] - r[0][1]) / (r[r.length - 1][0] - r[0][0]);
    setText($("speed"), speed === null ? "–" : Math.round(speed).toLocaleString("en"));
    setText($("loss"), fmt(state.loss, 3));
    setText($("dev-accuracy"), percent(state.devAccuracy));
    setText($("seconds"), fmt(state.seconds, 1) + " s");
    // The table and the charts' text labels restyle the page: while playing, once a second.
    var slow = !state.playing || t0 - lastSlowPaint >= 1000;
    if (slow) lastSlowPaint = t0;
    var all = dirty.all;
    if (all || dirty.loss || (slow && !state.playing)) {
      dirty.loss = !drawCurve($("loss-chart"), state.lossCurve, null, "loss", slow);
    }
    if (all || dirty.dev || (slow && !state.playing)) {
      dirty.dev = !drawCurve($("dev-chart"), state.devCurve, [0, 1], "dev accuracy", slow);
    }
    if (all || dirty.units) { drawUnits(); dirty.units = false; }
    if (slow && (all || dirty.confusion || !confusionCells)) { drawConfusion(); dirty.confusion = false; }
    dirty.all = false;
    state.paintMs = Math.max(state.paintMs, performance.now() - t0);   // the longest redraw so far
  }

  /** A line chart of curve [[step, value]] on a canvas sized to its CSS box. */
  function drawCurve(canvas, curve, yRange, what, label) {
    var size = sizes.get(canvas);
    if (!size) { resizer.observe(canvas); return false; }         // drawn once its size is known
    var dpr = window.devicePixelRatio || 1, w = Math.max(1, size[0]), h = Math.max(1, size[1]);
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var fg = colours.fg, light = colours.light, line = colours.line;
    var left = 40, right = 8, top = 8, bottom = 20, pw = w - left - right, ph = h - top - bottom;
    var lo = yRange ? yRange[0] : 0, hi = yRange ? yRange[1] : 0, xMax = 1;
    for (var i = 0; i < curve.length; i++) {
      if (!yRange && isFinite(curve[i][1])) hi = Math.max(hi, curve[i][1]);
      xMax = Math.max(xMax, curve[i][0]);
    }
    if (!(hi > lo)) hi = lo + 1;
    ctx.font = "11px sans-serif";
    ctx.fillStyle = fg;
    ctx.strokeStyle = light;
    ctx.lineWidth = 1;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (var t = 0; t <= 4; t++) {                             // 5 grid lines with their values
      var v = lo + (hi - lo) * t / 4, y = top + ph * (1 - t / 4);
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + pw, y); ctx.stroke();
      ctx.fillText(v.toFixed(yRange ? 2 : 1), left - 4, y);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText("step 0", left, h - 4);
    ctx.textAlign = "right";
    ctx.fillText("step " + Math.round(xMax).toLocaleString("en"), left + pw, h - 4);
    ctx.strokeStyle = line;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (i = 0; i < curve.length; i++) {
      var px = left + pw * curve[i][0] / xMax, py = top + ph * (1 - (Math.min(curve[i][1], hi) - lo) / (hi - lo));
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    }
    ctx.stroke();
    var last = curve.length ? curve[curve.length - 1] : null;
    if (label) canvas.setAttribute("aria-label", "Curve of the " + what + " by training step" +
      (last ? ": " + last[1].toFixed(3) + " at step " + last[0].toLocaleString("en") : ", empty until training starts"));
    return true;
  }

  var unitCanvases = [], unitImage = null;
  /** Each hidden unit's row of W1 as a 28 x 28 picture: orange positive, blue negative, white 0. */
  function drawUnits() {
    var list = $("units"), h = state.h, W1 = state.W1;
    if (!W1) return;
    if (unitCanvases.length !== h) {
      list.textContent = "";
      unitCanvases = [];
      for (var i = 0; i < h; i++) {
        var li = document.createElement("li");
        li.className = "nnfs-unit";
        li.innerHTML = '<canvas width="28" height="28" role="img" aria-label="Weights of hidden unit ' + (i + 1) +
          ' as a 28 by 28 image"></canvas><span class="nnfs-unit-name">unit ' + (i + 1) + "</span>";
        list.appendChild(li);
        unitCanvases.push(li.firstChild);
      }
    }
    if (!unitImage) unitImage = new ImageData(28, 28);
    var px = unitImage.data;                                   // one buffer, no allocation per pixel
    for (i = 0; i < h; i++) {
      var scale = 0, k, o = i * 784;
      for (k = 0; k < 784; k++) { var v = W1[o + k]; if (v > scale) scale = v; else if (-v > scale) scale = -v; }
      var inv = scale ? 1 / scale : 0;
      for (k = 0; k < 784; k++) {
        var t = W1[o + k] * inv, a = t < 0 ? -t : t, q = 4 * k;
        if (t >= 0) { px[q] = 255 - a * 25; px[q + 1] = 255 - a * 158; px[q + 2] = 255 - a * 254; }
        else { px[q] = 255 - a * 222; px[q + 1] = 255 - a * 153; px[q + 2] = 255 - a * 83; }
        px[q + 3] = 255;
      }
      // A CPU-backed canvas: putImageData is a copy, not an upload to the GPU (25 ms, measured).
      unitCanvases[i].getContext("2d", { willReadFrequently: true }).putImageData(unitImage, 0, 0);
    }
  }

  var confusionCells = null;
  /** The 10 x 10 confusion matrix of the dev set: row = true digit, column = predicted digit. */
  function drawConfusion() {
    var table = $("confusion"), C = state.confusion;
    if (!confusionCells) {
      var head = "<caption>Dev digits by true label y (rows) and prediction ŷ (columns)</caption>" +
                 '<thead><tr><th scope="col" aria-label="true digit, predicted digit">y \\ ŷ</th>';
      for (var d = 0; d < 10; d++) head += '<th scope="col">' + d + "</th>";
      var body = "</tr></thead><tbody>";
      for (var y = 0; y < 10; y++) {
        body += '<tr><th scope="row">' + y + "</th>";
        for (d = 0; d < 10; d++) body += "<td" + (d === y ? ' class="nnfs-diagonal"' : "") + ">–</td>";
        body += "</tr>";
      }
      table.innerHTML = head + body + "</tbody>";
      confusionCells = table.querySelectorAll("td");
    }
    if (!C) return;
    for (y = 0; y < 10; y++) {
      var total = 0;
      for (d = 0; d < 10; d++) total += C[y * 10 + d];
      for (d = 0; d < 10; d++) {
        var cell = confusionCells[y * 10 + d], n = C[y * 10 + d], share = (total ? n / total : 0).toFixed(2);
        if (cell.textContent === String(n) && cell.dataset.share === share) continue;   // unchanged: no DOM write
        cell.textContent = String(n);
        cell.dataset.share = share;
        // Shade: up to 0.55 below half the row (dark text stays readable), 0.85 to 0.95 above it (white text).
        var f = Number(share), shade = f >= 0.5 ? 0.85 + 0.2 * (f - 0.5) : 1.1 * f;
        cell.style.setProperty("--shade", shade.toFixed(3));
        cell.classList.toggle("nnfs-strong", f >= 0.5);
      }
    }
  }

  // ---- controls --------------------------------------------------------------------------------

  var buttons = root.querySelectorAll("button, [data-nnfs=use-in-playground]");
  function enable(on) {
    for (var b = 0; b < buttons.length; b++) buttons[b].disabled = !on;
    setPlaying(state.playing);
  }

  function setStatus(text) { $("status").textContent = text; }

  function setPlaying(on) {
    state.playing = on;
    if (!state.loaded) return;
    var focused = document.activeElement;
    $("play").disabled = on;
    $("pause").disabled = !on;
    if (focused === $("play") && on) $("pause").focus();            // keep the keyboard's place: a disabled
    else if (focused === $("pause") && !on) $("play").focus();      // button would drop the focus
    root.classList.toggle("nnfs-playing", on);
  }

  function reset() {
    var config = readForm();
    if (!config) return;
    state.config = config;
    state.devAccuracy = null; state.loss = null; state.W1 = null; state.confusion = null;
    setPlaying(false);
    send("reset", { config: config });
    setStatus("A fresh network: " + config.hidden + " hidden units, " + (config.init === "he" ? "He" : "uniform") +
              " initialisation, seed " + config.seed + ". Press Play.");
  }

  function play() {
    if (!state.loaded || state.playing) return;
    var config = readForm();
    if (!config) return;
    if (config.hidden !== state.config.hidden || config.init !== state.config.init || config.seed !== state.config.seed) reset();
    applyLive(config);
    setPlaying(true);
    send("play");
    setStatus("Training " + describe(state.config) + ".");
  }

  function pause() {
    if (!state.playing) return;
    send("pause");
    setPlaying(false);
  }

  function step() {
    if (!state.loaded) return;
    var config = readForm();
    if (!config) return;
    applyLive(config);
    send("step");
    setStatus("One step of " + describe(state.config) + ".");
  }

  function applyLive(config) {
    state.config.trainer = config.trainer;
    state.config.learningRate = config.learningRate;
    state.config.batchSize = config.batchSize;
    send("config", { config: state.config });
  }

  function describe(config) {
    return (config.trainer === "gd" ? "full-batch gradient descent" : "mini-batch SGD, batches of " + config.batchSize) +
           ", learning rate " + config.learningRate;
  }

  $("play").addEventListener("click", play);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", step);
  $("reset").addEventListener("click", reset);
  $("settings").addEventListener("submit", function (event) { event.preventDefault(); play(); });
  $("settings").addEventListener("change", function (event) {
    var key = null;
    for (var k in FIELDS) if (FIELDS[k][0] === event.target.dataset.nnfs) key = k;
    if (!key || !state.loaded) return;
    var config = readForm();
    if (!config) return;
    if (LIVE[key]) { applyLive(config); setStatus("From the next step on: " + describe(state.config) + "."); }
    else reset();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden && state.playing) {
      state.hiddenPaused = true;
      pause();
      setStatus("Paused while the tab is hidden; it goes on when you come back.");
    } else if (!document.hidden && state.hiddenPaused) {
      state.hiddenPaused = false;
      play();
    }
  });

  // ---- the trained weights: download, or send to the playground ---------------------------------

  function weights() {
    return new Promise(function (resolve) {
      var id = nextRequest++;
      weightRequests[id] = resolve;
      send("weights", { id: id });
    });
  }

  /** The network as generated/model.json has it (format nnfs-mlp/1): W rows as lists. */
  function modelDocument() {
    return weights().then(function (w) {
      var rows = function (flat, n, width) {
        var out = [];
        for (var i = 0; i < n; i++) out.push(flat.slice(i * width, (i + 1) * width));
        return out;
      };
      return { format: "nnfs-mlp/1", layers: [784, w.h, 10], W1: rows(w.W1, w.h, 784), b1: w.b1,
               W2: rows(w.W2, 10, w.h), b2: w.b2,
               metadata: { source: "trained in the browser on the Train it yourself page", steps: w.steps,
                           dev_accuracy: state.devAccuracy, config: state.config } };
    });
  }

  $("download").addEventListener("click", function () {
    modelDocument().then(function (doc) {
      var url = URL.createObjectURL(new Blob([JSON.stringify(doc)], { type: "application/json" }));
      var a = document.createElement("a");
      a.href = url;
      a.download = "nnfs-trained-model.json";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  });

  $("use-in-playground").addEventListener("click", function () {
    pause();
    modelDocument().then(function (doc) {
      try {
        localStorage.setItem("nnfs-trained-model", JSON.stringify(doc));
      } catch (err) {
        setStatus("Your browser refused to store the weights (" + err.message + "); download them instead.");
        return;
      }
      location.href = new URL(root.dataset.playground + "?model=trained", document.baseURI).href;
    });
  });

  // ---- start -------------------------------------------------------------------------------------

  readURL();
  enable(false);
  paint();
  setStatus("Loading the training digits…");
  send("load", { url: new URL(root.dataset.digits, document.baseURI).href });

  window.nnfsTrain = {
    ready: ready,
    state: function () {
      return { loaded: state.loaded, playing: state.playing, steps: state.steps, epoch: state.epoch,
               examples: state.examples, seconds: state.seconds, devAccuracy: state.devAccuracy, loss: state.loss,
               config: Object.assign({}, state.config), confusion: state.confusion ? Array.from(state.confusion) : null,
               lossPoints: state.lossCurve.length, devPoints: state.devCurve.length, reducedMotion: reducedMotion.matches,
               lastReason: state.lastReason, paints: state.paints, paintMs: state.paintMs };
    },
    weights: weights,
    modelDocument: modelDocument,
    play: play, pause: pause, step: step, reset: reset,
  };
})();
