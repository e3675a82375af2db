/* The playground: draw a digit and watch the site's trained 784-h-10 network read it.
 *
 * Plain JavaScript, no libraries, nothing from the network but this site's own
 * generated/model.json and generated/dev-digits.json. Two functions mirror the
 * Python package step for step, so the page and `nnfs` compute the same numbers
 * (tests/test_playground.py checks that to 1e-6):
 *
 *   mnistStyle(gray, H, W)  <->  nnfs/image.py: mnist_style(gray, ink=1)
 *   forward(model, x)       <->  nnfs/network.py: forward(params, x[:, None])
 *
 * Arrays are flat Float64Arrays in row-major order: pixel (r, c) of an H x W image
 * is gray[r * W + c], and W1[i][k] is model.W1[i * 784 + k].
 *
 * For tests and the curious, window.nnfsPlayground exposes input(), probabilities(),
 * hidden(), prediction(), loadDevDigit(i), clear(), canvasGray() and a `ready` promise.
 */
(function () {
  "use strict";

  // ---- nnfs/image.py: mnist_style --------------------------------------------------

  var FIELD = 28;            // MNIST images are 28 x 28
  var BOX = 20;              // the ink's longer side is scaled to 20 pixels
  var INK_THRESHOLD = 0.1;   // a pixel brighter than this counts as ink when cropping

  /** floor(x + 0.5), like nnfs.image._round (and Math.round). */
  function round(x) {
    return Math.floor(x + 0.5);
  }

  /** (nOut, nIn) area-averaging weights, flat: entry (i, j) is the overlap of output
   *  pixel i's span [i s, (i + 1) s) with input pixel [j, j + 1), divided by s = nIn / nOut. */
  function areaWeights(nIn, nOut) {
    var s = nIn / nOut;
    var w = new Float64Array(nOut * nIn);
    for (var i = 0; i < nOut; i++) {
      var lo = i * s, hi = (i + 1) * s;
      for (var j = Math.max(0, Math.floor(lo)); j < nIn && j < hi; j++) {
        var overlap = Math.min(hi, j + 1) - Math.max(lo, j);
        if (overlap > 0) w[i * nIn + j] = overlap / s;
      }
    }
    return w;
  }

  /** Resize image (H, W) to (height, width) by area averaging: Wh @ image @ Ww.T. */
  function areaResize(image, H, W, height, width) {
    var wh = areaWeights(H, height), ww = areaWeights(W, width);
    var rows = new Float64Array(height * W);            // Wh @ image: (height, W)
    for (var i = 0; i < height; i++) {
      for (var r = 0; r < H; r++) {
        var a = wh[i * H + r];
        if (a === 0) continue;
        for (var c = 0; c < W; c++) rows[i * W + c] += a * image[r * W + c];
      }
    }
    var out = new Float64Array(height * width);         // (Wh @ image) @ Ww.T: (height, width)
    for (i = 0; i < height; i++) {
      for (var k = 0; k < width; k++) {
        var sum = 0;
        for (c = 0; c < W; c++) sum += rows[i * W + c] * ww[k * W + c];
        out[i * width + k] = sum;
      }
    }
    return out;
  }

  /** gray (H, W) in [0, 1], bright ink on black -> (28, 28) MNIST-style digit, or null if no ink.
   *  Crop to the pixels above INK_THRESHOLD, scale the longer side to 20 pixels by area
   *  averaging, paste into a black 28 x 28 field with the centre of mass at (14, 14) to the
   *  nearest whole pixel. Values are rounded to float32, as mnist_style returns float32. */
  function mnistStyle(gray, H, W) {
    var top = -1, bottom = -1, left = W, right = -1;
    for (var r = 0; r < H; r++) {
      for (var c = 0; c < W; c++) {
        if (gray[r * W + c] > INK_THRESHOLD) {
          if (top < 0) top = r;
          bottom = r;
          if (c < left) left = c;
          if (c > right) right = c;
        }
      }
    }
    if (top < 0) return null;                             // no ink
    var h = bottom - top + 1, w = right - left + 1;
    var box = new Float64Array(h * w);                    // (h, w), the ink's bounding box
    for (r = 0; r < h; r++) {
      for (c = 0; c < w; c++) box[r * w + c] = gray[(top + r) * W + left + c];
    }

    var longer = Math.max(h, w);                          // longer side -> 20, aspect kept
    var nh = Math.max(1, round(h * BOX / longer)), nw = Math.max(1, round(w * BOX / longer));
    var small = areaResize(box, h, w, nh, nw);            // (nh, nw)

    var total = 0, rowMass = 0, colMass = 0;              // centre of mass inside the box
    var rowSums = new Float64Array(nh), colSums = new Float64Array(nw);
    for (r = 0; r < nh; r++) {
      for (c = 0; c < nw; c++) {
        rowSums[r] += small[r * nw + c];
        colSums[c] += small[r * nw + c];
      }
    }
    for (r = 0; r < nh; r++) rowMass += rowSums[r] * (r + 0.5);
    for (c = 0; c < nw; c++) colMass += colSums[c] * (c + 0.5);
    for (r = 0; r < nh * nw; r++) total += small[r];
    var cy = rowMass / total, cx = colMass / total;
    var y0 = round(FIELD / 2 - cy), x0 = round(FIELD / 2 - cx);  // shift that puts it at (14, 14)
    var y = Math.min(Math.max(y0, 0), FIELD - nh), x = Math.min(Math.max(x0, 0), FIELD - nw);

    var out = new Float64Array(FIELD * FIELD);
    for (r = 0; r < nh; r++) {
      for (c = 0; c < nw; c++) out[(y + r) * FIELD + x + c] = Math.fround(small[r * nw + c]);
    }
    return out;
  }

  // ---- nnfs/network.py: forward ------------------------------------------------------

  /** model.json -> flat Float64Arrays. Checks the shapes, so a bad file fails loudly. */
  function parseModel(doc) {
    if (!doc || doc.format !== "nnfs-mlp/1") throw new Error("model.json: unknown format " + (doc && doc.format));
    var h = doc.layers[1];
    if (doc.layers[0] !== 784 || doc.layers[2] !== 10 || doc.W1.length !== h || doc.W2.length !== 10) {
      throw new Error("model.json: layers " + JSON.stringify(doc.layers) + " do not match its weights");
    }
    var W1 = new Float64Array(h * 784), W2 = new Float64Array(10 * h);
    for (var i = 0; i < h; i++) {
      if (doc.W1[i].length !== 784) throw new Error("model.json: W1 row " + i + " has " + doc.W1[i].length + " entries");
      W1.set(doc.W1[i], i * 784);
    }
    for (i = 0; i < 10; i++) W2.set(doc.W2[i], i * h);
    return { h: h, W1: W1, b1: Float64Array.from(doc.b1), W2: W2, b2: Float64Array.from(doc.b2), metadata: doc.metadata || {} };
  }

  /** One column x (784,) -> {Z1, A1 (h,), Z2, A2 (10,)}, exactly nnfs.forward on x[:, None]. */
  function forward(model, x) {
    var h = model.h;
    var Z1 = new Float64Array(h), A1 = new Float64Array(h);
    for (var i = 0; i < h; i++) {
      var z = 0;
      for (var k = 0; k < 784; k++) z += model.W1[i * 784 + k] * x[k];
      Z1[i] = z + model.b1[i];                 // Z1 = W1 x + b1
      A1[i] = Math.max(Z1[i], 0);              // A1 = ReLU(Z1)
    }
    var Z2 = new Float64Array(10), A2 = new Float64Array(10);
    var max = -Infinity;
    for (var j = 0; j < 10; j++) {
      z = 0;
      for (i = 0; i < h; i++) z += model.W2[j * h + i] * A1[i];
      Z2[j] = z + model.b2[j];                 // Z2 = W2 A1 + b2
      if (Z2[j] > max) max = Z2[j];
    }
    var sum = 0;
    for (j = 0; j < 10; j++) { A2[j] = Math.exp(Z2[j] - max); sum += A2[j]; }  // stable: subtract the max
    for (j = 0; j < 10; j++) A2[j] /= sum;     // A2 = softmax(Z2)
    return { Z1: Z1, A1: A1, Z2: Z2, A2: A2 };
  }

  function argmax(a) {
    var best = 0;
    for (var i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;  // first maximum, like NumPy
    return best;
  }

  // ---- the page --------------------------------------------------------------------

  var root = document.getElementById("nnfs-playground");
  if (!root) return;
  var $ = function (name) { return root.querySelector("[data-nnfs=" + name + "]"); };

  var pad = $("pad"), seen = $("seen"), status = $("status"), predicted = $("prediction");
  var probsList = $("probabilities"), hiddenList = $("hidden");
  var padCtx = pad.getContext("2d", { willReadFrequently: true });
  var seenCtx = seen.getContext("2d");
  var PEN = pad.width / 10;    // a thick pen, so strokes scale down to MNIST-like 2-3 pixel lines

  var state = { model: null, digits: null, x: null, out: null, source: "none", dev: null, strokes: 0,
                buildModel: null, trainedModel: null, modelSource: "build" };

  function setStatus(text) { status.textContent = text; }

  function blankPad() {
    padCtx.fillStyle = "#000";
    padCtx.fillRect(0, 0, pad.width, pad.height);
  }

  /** The drawing pad as gray (H, W) in [0, 1]: ITU-R 601 luma of each opaque pixel, as Pillow's "L". */
  function canvasGray() {
    var data = padCtx.getImageData(0, 0, pad.width, pad.height).data;
    var gray = new Float64Array(pad.width * pad.height);
    for (var p = 0; p < gray.length; p++) {
      gray[p] = (0.299 * data[4 * p] + 0.587 * data[4 * p + 1] + 0.114 * data[4 * p + 2]) / 255;
    }
    return gray;
  }

  /** Paint a (28, 28) image in [0, 1] onto a canvas, one block of pixels per value. */
  function paint(ctx, canvas, x) {
    var img = ctx.createImageData(FIELD, FIELD);
    for (var p = 0; p < FIELD * FIELD; p++) {
      var v = Math.round(255 * (x ? x[p] : 0));
      img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = v;
      img.data[4 * p + 3] = 255;
    }
    var tmp = document.createElement("canvas");
    tmp.width = tmp.height = FIELD;
    tmp.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  }

  function percent(p) { return (100 * p).toFixed(1) + "%"; }

  function buildOutputs(h) {
    probsList.textContent = "";
    for (var d = 0; d < 10; d++) {
      var li = document.createElement("li");
      li.className = "nnfs-bar";
      li.innerHTML = '<span class="nnfs-bar-label">' + d + '</span>' +
        '<span class="nnfs-bar-track" aria-hidden="true"><span class="nnfs-bar-fill"></span></span>' +
        '<span class="nnfs-bar-value">–</span>';
      probsList.appendChild(li);
    }
    hiddenList.textContent = "";
    for (var i = 0; i < h; i++) {
      var unit = document.createElement("li");
      unit.className = "nnfs-unit";
      unit.innerHTML = '<canvas width="28" height="28" role="img" aria-label="Weights of hidden unit ' + (i + 1) +
        ' as a 28 by 28 image: orange pixels push its activation up, blue pixels push it down"></canvas>' +
        '<span class="nnfs-unit-name">unit ' + (i + 1) + '</span>' +
        '<span class="nnfs-unit-value">–</span>' +
        '<span class="nnfs-bar-track" aria-hidden="true"><span class="nnfs-bar-fill"></span></span>';
      hiddenList.appendChild(unit);
      drawWeights(unit.querySelector("canvas"), state.model.W1.subarray(i * 784, (i + 1) * 784));
    }
  }

  /** A row of W1 as a 28 x 28 picture: orange for positive weights, blue for negative, white for 0. */
  function drawWeights(canvas, w) {
    var scale = 0;
    for (var k = 0; k < 784; k++) scale = Math.max(scale, Math.abs(w[k]));
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(FIELD, FIELD);
    for (k = 0; k < 784; k++) {
      var t = scale ? w[k] / scale : 0, a = Math.abs(t);
      var rgb = t >= 0 ? [230, 97, 1] : [33, 102, 172];
      for (var ch = 0; ch < 3; ch++) img.data[4 * k + ch] = Math.round(255 + a * (rgb[ch] - 255));
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function show() {
    var out = state.out;
    var bars = probsList.children, units = hiddenList.children;
    var best = out ? argmax(out.A2) : -1;
    for (var d = 0; d < 10; d++) {
      var p = out ? out.A2[d] : 0;
      bars[d].querySelector(".nnfs-bar-fill").style.width = (100 * p) + "%";
      bars[d].querySelector(".nnfs-bar-value").textContent = out ? percent(p) : "–";
      bars[d].classList.toggle("nnfs-best", d === best);
      bars[d].setAttribute("aria-label", "digit " + d + ": " + (out ? percent(p) : "no input"));
    }
    var top = 0;
    if (out) for (var i = 0; i < out.A1.length; i++) top = Math.max(top, out.A1[i]);
    for (i = 0; i < units.length; i++) {
      var a = out ? out.A1[i] : 0;
      units[i].querySelector(".nnfs-unit-value").textContent = out ? a.toFixed(2) : "–";
      units[i].querySelector(".nnfs-bar-fill").style.width = (top > 0 ? 100 * a / top : 0) + "%";
      units[i].classList.toggle("nnfs-off", !!out && a === 0);
    }
    predicted.textContent = out ? String(best) : "?";
    paint(seenCtx, seen, state.x);
  }

  function run(x, source) {
    state.x = x;
    state.source = x ? source : "none";
    state.out = x && state.model ? forward(state.model, x) : null;
    show();
  }

  /** After each stroke: the pad -> mnist_style -> the network. */
  function readPad() {
    var x = mnistStyle(canvasGray(), pad.height, pad.width);
    state.dev = null;
    run(x, "drawing");
    setStatus(x ? "Your drawing, cropped to its ink, scaled to 20 pixels and centred by its centre of mass, as MNIST digits were."
                : "No ink yet: draw a digit in the black box.");
  }

  function clear() {
    blankPad();
    state.dev = null;
    $("true-label").textContent = "–";
    run(null, "none");
    setStatus("Cleared. Draw a digit in the black box.");
  }

  function loadDevDigit(i) {
    var digits = state.digits;
    if (!digits) throw new Error("the dev digits are not loaded");
    if (i === undefined || i === null) i = Math.floor(Math.random() * digits.labels.length);
    if (!(i >= 0 && i < digits.labels.length)) throw new RangeError("no dev digit " + i);
    var x = new Float64Array(784);
    for (var k = 0; k < 784; k++) x[k] = digits.pixels[i][k] / 255;  // already MNIST-style: use as is
    blankPad();
    paint(padCtx, pad, x);
    run(x, "dev");
    var label = digits.labels[i], prediction = argmax(state.out.A2), build = digits.predictions[i];
    state.dev = { index: i, label: label, prediction: prediction, buildPrediction: build };
    setStatus("Dev digit " + (i + 1) + " of " + digits.labels.length + ": its true label is " + label +
              ". The network says " + prediction + (prediction === label ? " (right)" : " (wrong)") +
              (state.modelSource === "build" ? "; the build's NumPy forward pass said " + build + "."
                                             : "; the build's model says " + build + "."));
    $("true-label").textContent = String(label);
    return Object.assign({}, state.dev);
  }

  // Drawing with mouse, finger or pen: pointer events, one stroke from down to up.
  var drawing = false, last = null;

  /** Pointer position in the pad's own 280 x 280 pixels, whatever size CSS gives it. */
  function point(event) {
    var rect = pad.getBoundingClientRect();
    var x = event.clientX - rect.left - pad.clientLeft, y = event.clientY - rect.top - pad.clientTop;  // inside the border
    return [x * pad.width / pad.clientWidth, y * pad.height / pad.clientHeight];
  }

  pad.addEventListener("pointerdown", function (event) {
    if (!state.model || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    if (state.source === "dev") blankPad();   // a new drawing replaces a dev digit
    $("true-label").textContent = "–";
    drawing = true;
    last = point(event);
    padCtx.fillStyle = "#fff";
    padCtx.beginPath();
    padCtx.arc(last[0], last[1], PEN / 2, 0, 2 * Math.PI);
    padCtx.fill();
  });

  pad.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    event.preventDefault();
    var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    if (!events.length) events = [event];
    padCtx.strokeStyle = "#fff";
    padCtx.lineWidth = PEN;
    padCtx.lineCap = "round";
    padCtx.lineJoin = "round";
    padCtx.beginPath();
    padCtx.moveTo(last[0], last[1]);
    for (var e = 0; e < events.length; e++) {
      last = point(events[e]);
      padCtx.lineTo(last[0], last[1]);
    }
    padCtx.stroke();
  });

  function endStroke(event) {
    if (!drawing) return;
    drawing = false;
    if (pad.hasPointerCapture(event.pointerId)) pad.releasePointerCapture(event.pointerId);
    state.strokes += 1;
    readPad();
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  $("clear").addEventListener("click", clear);
  $("random").addEventListener("click", function () { loadDevDigit(); });

  function getJSON(url) {
    return fetch(url).then(function (response) {
      if (!response.ok) throw new Error(url + ": HTTP " + response.status);
      return response.json();
    });
  }

  blankPad();
  paint(seenCtx, seen, null);
  var buttons = root.querySelectorAll("button");
  for (var b = 0; b < buttons.length; b++) buttons[b].disabled = true;

  var modelURL = new URL(root.dataset.model, document.baseURI).href;
  var digitsURL = new URL(root.dataset.digits, document.baseURI).href;
  // ---- the model: the build's, or one trained on the "Train it yourself" page ---------------

  var TRAINED_KEY = "nnfs-trained-model";   // train.js stores the weights there (format nnfs-mlp/1)

  function storedModel() {
    try {
      var text = localStorage.getItem(TRAINED_KEY);
      return text ? parseModel(JSON.parse(text)) : null;
    } catch (err) {
      return null;                           // no storage, or a broken entry: use the build's model
    }
  }

  /** Read with the build's model ("build") or the weights trained in this browser ("trained"). */
  function useModel(which) {
    if (which === "trained" && !state.trainedModel) state.trainedModel = storedModel();
    var trained = which === "trained" && state.trainedModel;
    state.model = trained ? state.trainedModel : state.buildModel;
    state.modelSource = trained ? "trained" : "build";
    var url = new URL(location.href);
    if (trained) url.searchParams.set("model", "trained"); else url.searchParams.delete("model");
    history.replaceState(null, "", url);
    buildOutputs(state.model.h);
    $("hidden-count").textContent = String(state.model.h);
    var choice = $("model-choice"), note = $("model-note"), button = $("switch-model");
    var other = state.trainedModel || storedModel();
    if (trained) {
      var meta = state.model.metadata, acc = meta.dev_accuracy;
      note.textContent = "You are drawing for the network you trained on the Train it yourself page" +
        (typeof acc === "number" ? " (dev accuracy " + percent(acc) + " after " + meta.steps + " steps)" : "") + ".";
      button.textContent = "Use the build's model";
    } else if (other) {
      note.textContent = which === "trained" ? "" : "You are drawing for the build's model. You also trained a network on the Train it yourself page.";
      button.textContent = "Use the weights you trained";
    } else {
      note.textContent = which === "trained" ? "No weights trained in this browser were found; this is the build's model." : "";
    }
    button.hidden = !trained && !other;
    choice.hidden = !note.textContent;
    if (state.x) run(state.x, state.source);
    else show();
  }

  $("switch-model").addEventListener("click", function () {
    useModel(state.modelSource === "trained" ? "build" : "trained");
    setStatus(state.modelSource === "trained" ? "Now reading with the weights you trained." : "Now reading with the build's model.");
  });

  var ready = Promise.all([getJSON(modelURL), getJSON(digitsURL)]).then(function (docs) {
    state.buildModel = parseModel(docs[0]);
    state.digits = docs[1];
    useModel(new URLSearchParams(location.search).get("model") === "trained" ? "trained" : "build");
    for (var b = 0; b < buttons.length; b++) buttons[b].disabled = false;
    root.classList.add("nnfs-ready");
    show();
    setStatus("Ready: draw a digit in the black box, or pick a random dev digit.");
  }, function (err) {
    root.classList.add("nnfs-failed");
    setStatus("The playground could not load the trained network (" + err.message + "). " +
              "It needs the site served over HTTP, for example by `mkdocs serve`.");
    throw err;
  });
  ready.catch(function () {});  // reported on the page; tests see the rejection through `ready`

  function list(a) { return a ? Array.from(a) : null; }

  window.nnfsPlayground = {
    ready: ready,
    /** The 784 numbers the network reads now (row by row), or null before any input. */
    input: function () { return list(state.x); },
    probabilities: function () { return state.out ? list(state.out.A2) : null; },
    hidden: function () { return state.out ? list(state.out.A1) : null; },
    logits: function () { return state.out ? list(state.out.Z2) : null; },
    prediction: function () { return state.out ? argmax(state.out.A2) : null; },
    /** "drawing", "dev" or "none": where input() came from. */
    source: function () { return state.source; },
    strokes: function () { return state.strokes; },
    /** The dev digit shown now, {index, label, prediction, buildPrediction}, or null. */
    devDigit: function () { return state.dev ? Object.assign({}, state.dev) : null; },
    /** "build" or "trained": whose weights the page reads with. */
    modelSource: function () { return state.modelSource; },
    useModel: useModel,
    loadDevDigit: loadDevDigit,
    clear: clear,
    /** The pad's pixels as gray values in [0, 1], row by row, with its size. */
    canvasGray: function () { return { height: pad.height, width: pad.width, gray: Array.from(canvasGray()) }; },
    mnistStyle: function (gray, height, width) { return list(mnistStyle(Float64Array.from(gray), height, width)); },
  };
})();
