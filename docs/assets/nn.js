/* nn.js: the 784-h-10 network of nnfs/network.py, in plain JavaScript, for training in a browser.
 *
 * The "Train it yourself" page runs this in a Web Worker (train-worker.js) and quotes its
 * sections next to their Python twins. tests/test_train_page.py runs it in Chromium from
 * the same float64 weights and batch order as nnfs, and checks that every weight agrees.
 *
 * Layout, as on the pages: X is (784, n), one digit per column; Z1, A1 are (h, m) and Z2,
 * A2 are (10, m) for a batch of m columns. Every matrix is a flat Float64Array, row by row:
 * entry (i, j) of an (r, c) matrix is M[i * c + j]. So W1[i * 784 + k] is the weight from
 * pixel k to hidden unit i, as in nnfs. Each weight's gradient sits beside it (W1 and dW1),
 * the way TensorFlow Playground's nn.ts keeps a node's value with its derivative.
 *
 * Most pixels of a digit are 0 (background), and 0 * w adds nothing to a sum, so X is kept
 * as a sparse matrix, column by column (compressed sparse columns): the inked pixels of
 * column j are row[p], value[p] for p in colStart[j] .. colStart[j + 1] - 1. The sums skip
 * only terms that are exactly 0, so the results are the dense products' results.
 */
(function (root) {
  "use strict";

  var N_IN = 784, N_OUT = 10;   // 28 x 28 pixels in, 10 digits out

  // --8<-- [start:data]
  /** The build's generated/train-digits.bin.gz, unzipped: n rows of 784 uint8 pixels (train
   *  rows first, then dev), then n uint8 labels. Returns X (784, n) as sparse columns with
   *  values pixel / 255, exactly as nnfs reads digits, and the labels Y (n,). */
  function decodeDigits(bytes, header) {
    var n = header.n_train + header.n_dev;
    if (bytes.length !== n * (N_IN + 1)) {
      throw new Error(header.file + ": " + bytes.length + " bytes, expected " + n * (N_IN + 1) +
                      " for " + n + " digits of 784 pixels and a label each");
    }
    var colStart = new Int32Array(n + 1), inked = 0;
    for (var q = 0; q < n * N_IN; q++) if (bytes[q] !== 0) inked++;
    var row = new Uint16Array(inked), value = new Float64Array(inked), p = 0;
    for (var j = 0; j < n; j++) {
      colStart[j] = p;
      for (var k = 0; k < N_IN; k++) {
        var pixel = bytes[j * N_IN + k];
        if (pixel !== 0) { row[p] = k; value[p] = pixel / 255; p++; }   // X[k, j] = pixel / 255
      }
    }
    colStart[n] = p;
    var Y = Uint8Array.from(bytes.subarray(n * N_IN, n * (N_IN + 1)));   // (n,) labels 0..9
    for (j = 0; j < n; j++) if (Y[j] > 9) throw new Error(header.file + ": label " + Y[j] + " of digit " + j + " is not 0..9");
    return { X: { n: n, colStart: colStart, row: row, value: value }, Y: Y,
             nTrain: header.n_train, nDev: header.n_dev, pixels: bytes.subarray(0, n * N_IN) };
  }
  // --8<-- [end:data]

  /** Fetch the header and the gzipped digits; unzip in the browser (DecompressionStream). */
  function loadDigits(headerURL) {
    return fetch(headerURL).then(function (r) {
      if (!r.ok) throw new Error(headerURL + ": HTTP " + r.status);
      return r.json();
    }).then(function (header) {
      if (header.format !== "nnfs-digits/1") throw new Error(headerURL + ": unknown format " + header.format);
      var url = new URL(header.file, new URL(headerURL, root.location.href)).href;
      return fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.arrayBuffer();
      }).then(function (buffer) {
        var head = new Uint8Array(buffer, 0, 2);
        if (head[0] !== 0x1f || head[1] !== 0x8b) return buffer;        // a server already unzipped it
        var stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("gzip"));
        return new Response(stream).arrayBuffer();
      }).then(function (raw) {
        return decodeDigits(new Uint8Array(raw), header);
      });
    });
  }

  // --8<-- [start:random]
  /** A seeded generator of uniform numbers in [0, 1) (mulberry32). Not NumPy's PCG64: the
   *  same seed gives other weights than nnfs, but the same distributions. */
  function makeRng(seed) {
    var a = seed >>> 0;
    function random() {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    function normal() {                 // Box-Muller: one standard normal from two uniforms
      var u = 1 - random(), v = random();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
    function permutation(n) {           // Fisher-Yates shuffle of 0..n-1
      var order = new Int32Array(n);
      for (var i = 0; i < n; i++) order[i] = i;
      for (i = n - 1; i > 0; i--) {
        var j = Math.floor(random() * (i + 1)), t = order[i];
        order[i] = order[j]; order[j] = t;
      }
      return order;
    }
    return { random: random, normal: normal, permutation: permutation };
  }
  // --8<-- [end:random]

  // --8<-- [start:init_params]
  /** W1 (h, 784), b1 (h, 1), W2 (10, h), b2 (10, 1), each with its gradient beside it.
   *  init "he": W ~ N(0, 2 / fan_in), b = 0; "uniform": every entry ~ U(-0.5, 0.5), the original's. */
  function initParams(h, init, rng) {
    var net = {
      h: h,
      W1: new Float64Array(h * N_IN), dW1: new Float64Array(h * N_IN),      // (h, 784) and dL/dW1
      b1: new Float64Array(h), db1: new Float64Array(h),                    // (h, 1)   and dL/db1
      W2: new Float64Array(N_OUT * h), dW2: new Float64Array(N_OUT * h),    // (10, h)  and dL/dW2
      b2: new Float64Array(N_OUT), db2: new Float64Array(N_OUT),            // (10, 1)  and dL/db2
    };
    var names = ["W1", "b1", "W2", "b2"];
    for (var s = 0; s < names.length; s++) {
      var P = net[names[s]], fanIn = names[s] === "W1" ? N_IN : h;
      for (var q = 0; q < P.length; q++) {
        if (init === "uniform") P[q] = rng.random() - 0.5;
        else if (init === "he") P[q] = names[s][0] === "W" ? rng.normal() * Math.sqrt(2 / fanIn) : 0;
        else throw new Error("init must be 'he' or 'uniform', got " + init);
      }
    }
    return net;
  }
  // --8<-- [end:init_params]

  /** The cache of one forward pass for batches of up to m columns: Z1, A1 (h, m), Z2, A2, dZ2 (10, m), dZ1 (h, m). */
  function makeCache(h, m) {
    return { m: m, Z1: new Float64Array(h * m), A1: new Float64Array(h * m), dZ1: new Float64Array(h * m),
             Z2: new Float64Array(N_OUT * m), A2: new Float64Array(N_OUT * m), dZ2: new Float64Array(N_OUT * m) };
  }

  // --8<-- [start:relu]
  /** ReLU(z) = max(0, z); ReLU'(z) = 1 where z > 0, else 0 (0 at z = 0, as nnfs takes it). */
  function relu(z) { return z > 0 ? z : 0; }
  function reluGrad(z) { return z > 0 ? 1 : 0; }
  // --8<-- [end:relu]

  // --8<-- [start:softmax]
  /** Column-wise softmax of Z (k, m) into A (k, m). Subtracting each column's max changes
   *  nothing mathematically and keeps exp() from overflowing: the largest exponent is exp(0). */
  function softmax(Z, k, m, A) {
    for (var j = 0; j < m; j++) {
      var max = -Infinity, sum = 0, c;
      for (c = 0; c < k; c++) if (Z[c * m + j] > max) max = Z[c * m + j];
      for (c = 0; c < k; c++) { A[c * m + j] = Math.exp(Z[c * m + j] - max); sum += A[c * m + j]; }  // E, in (0, 1]
      for (c = 0; c < k; c++) A[c * m + j] /= sum;                                                    // columns sum to 1
    }
  }
  // --8<-- [end:softmax]

  // --8<-- [start:forward]
  /** Forward pass for the batch Xb = X[:, batch], m = batch.length columns.
   *  Fills cache.Z1, A1 (h, m), Z2, A2 (10, m), as nnfs.forward(params, Xb) returns them. */
  function forward(net, X, batch, cache) {
    var h = net.h, m = batch.length, W1 = net.W1, b1 = net.b1, W2 = net.W2, b2 = net.b2;
    var Z1 = cache.Z1, A1 = cache.A1, Z2 = cache.Z2, row = X.row, value = X.value, i, j, p, z;
    for (j = 0; j < m; j++) {
      var start = X.colStart[batch[j]], end = X.colStart[batch[j] + 1];   // column j's inked pixels
      for (i = 0; i < h; i++) {
        var w = i * N_IN;
        for (z = 0, p = start; p < end; p++) z += W1[w + row[p]] * value[p];  // (W1 @ Xb)[i, j]
        Z1[i * m + j] = z + b1[i];               // Z1 = W1 @ Xb + b1     (h, m)
        A1[i * m + j] = relu(Z1[i * m + j]);     // A1 = relu(Z1)         (h, m)
      }
    }
    for (var c = 0; c < N_OUT; c++) {
      for (j = 0; j < m; j++) {
        for (z = 0, i = 0; i < h; i++) z += W2[c * h + i] * A1[i * m + j];
        Z2[c * m + j] = z + b2[c];               // Z2 = W2 @ A1 + b2     (10, m)
      }
    }
    softmax(Z2, N_OUT, m, cache.A2);             // A2 = softmax(Z2)      (10, m)
  }
  // --8<-- [end:forward]

  // --8<-- [start:cross_entropy]
  /** Mean cross-entropy -1/m sum_j log A2[Y_j, j] of the batch; 1e-12 keeps log(0) finite. */
  function crossEntropy(A2, Y, batch) {
    var m = batch.length, sum = 0;
    for (var j = 0; j < m; j++) sum += Math.log(Math.max(A2[Y[batch[j]] * m + j], 1e-12));
    return -sum / m;
  }
  // --8<-- [end:cross_entropy]

  // --8<-- [start:backward]
  /** Gradients of the mean cross-entropy for the batch Xb = X[:, batch], Yb = Y[batch].
   *  m is the number of columns in *this* batch. Fills net.dW1 (h, 784), db1 (h, 1),
   *  dW2 (10, h), db2 (10, 1): each gradient beside its parameter, with its shape. */
  function backward(net, X, Y, batch, cache) {
    var h = net.h, m = batch.length, W2 = net.W2, c, i, j, p, s;
    var Z1 = cache.Z1, A1 = cache.A1, A2 = cache.A2, dZ2 = cache.dZ2, dZ1 = cache.dZ1;
    for (c = 0; c < N_OUT; c++) {
      for (j = 0; j < m; j++) dZ2[c * m + j] = A2[c * m + j] - (Y[batch[j]] === c ? 1 : 0);  // dZ2 = A2 - one_hot(Yb)  (10, m)
    }
    for (c = 0; c < N_OUT; c++) {
      for (i = 0; i < h; i++) {
        for (s = 0, j = 0; j < m; j++) s += dZ2[c * m + j] * A1[i * m + j];
        net.dW2[c * h + i] = s / m;              // dW2 = dZ2 @ A1.T / m           (10, h)
      }
      for (s = 0, j = 0; j < m; j++) s += dZ2[c * m + j];
      net.db2[c] = s / m;                        // db2 = dZ2.sum(axis=1) / m      (10, 1)
    }
    for (i = 0; i < h; i++) {
      for (j = 0; j < m; j++) {
        for (s = 0, c = 0; c < N_OUT; c++) s += W2[c * h + i] * dZ2[c * m + j];
        dZ1[i * m + j] = s * reluGrad(Z1[i * m + j]);  // dZ1 = (W2.T @ dZ2) * relu_grad(Z1)  (h, m)
      }
    }
    var dW1 = net.dW1, row = X.row, value = X.value;
    dW1.fill(0);
    for (i = 0; i < h; i++) {
      var w = i * N_IN;
      for (s = 0, j = 0; j < m; j++) {
        var d = dZ1[i * m + j], end = X.colStart[batch[j] + 1];
        s += d;
        if (d === 0) continue;                   // a unit off for this digit adds nothing
        for (p = X.colStart[batch[j]]; p < end; p++) dW1[w + row[p]] += d * value[p];
      }
      net.db1[i] = s / m;                        // db1 = dZ1.sum(axis=1) / m      (h, 1)
    }
    for (var q = 0; q < dW1.length; q++) dW1[q] /= m;  // dW1 = dZ1 @ Xb.T / m        (h, 784)
  }
  // --8<-- [end:backward]

  // --8<-- [start:update_params]
  /** One gradient-descent step, W <- W - alpha * dW, for every parameter and its gradient. */
  function updateParams(net, learningRate) {
    var names = ["W1", "b1", "W2", "b2"];
    for (var s = 0; s < names.length; s++) {
      var W = net[names[s]], dW = net["d" + names[s]];
      for (var q = 0; q < W.length; q++) W[q] = W[q] - learningRate * dW[q];
    }
  }
  // --8<-- [end:update_params]

  // --8<-- [start:predict]
  /** Predicted digit (argmax of A2, the first maximum as in NumPy) for each column of X[:, batch]. */
  function predict(net, X, batch, cache) {
    cache = cache && cache.m >= batch.length ? cache : makeCache(net.h, batch.length);
    forward(net, X, batch, cache);
    var m = batch.length, A2 = cache.A2, out = new Uint8Array(m);
    for (var j = 0; j < m; j++) {
      var best = 0;
      for (var c = 1; c < N_OUT; c++) if (A2[c * m + j] > A2[best * m + j]) best = c;
      out[j] = best;
    }
    return out;
  }
  // --8<-- [end:predict]

  /** The columns lo..hi-1, as a batch. */
  function range(lo, hi) {
    var out = new Int32Array(hi - lo);
    for (var i = 0; i < out.length; i++) out[i] = lo + i;
    return out;
  }

  // --8<-- [start:trainer]
  /** A training run over the train columns 0..nTrain-1 of data.X. config: {trainer: "sgd" | "gd",
   *  learningRate, batchSize, hidden, init, seed}. options.params / options.order replace the
   *  random initial weights / the first epoch's shuffle (the equivalence tests use nnfs's).
   *  step() runs one update: a mini-batch of the epoch's shuffled order (sgd), or all the
   *  training columns at once (gd, the original algorithm), exactly as nnfs.minibatch_sgd
   *  and nnfs.gradient_descent do with schedule "constant", optimizer "sgd" and no shifts. */
  function makeTrainer(data, config, options) {
    options = options || {};
    var rng = makeRng(config.seed), nTrain = data.nTrain;
    var net = options.params ? fromParams(options.params) : initParams(config.hidden, config.init, rng);
    var all = range(0, nTrain), order = null, position = nTrain, cache = null;
    var run = { net: net, steps: 0, epoch: 0, examples: 0, lastLoss: NaN };
    run.step = function () {
      var batch;
      if (config.trainer === "gd") {
        batch = all;                                             // full batch: m = nTrain
        run.epoch += 1;
      } else {
        if (position >= nTrain) {                                // a new epoch: shuffle
          order = run.steps === 0 && options.order ? Int32Array.from(options.order) : rng.permutation(nTrain);
          position = 0;
        }
        batch = order.subarray(position, Math.min(position + config.batchSize, nTrain));
        position += batch.length;
        run.epoch = (run.examples + batch.length) / nTrain;
      }
      if (!cache || cache.m !== batch.length) cache = makeCache(net.h, batch.length);
      forward(net, data.X, batch, cache);
      run.lastLoss = crossEntropy(cache.A2, data.Y, batch);       // loss before this step's update
      backward(net, data.X, data.Y, batch, cache);
      updateParams(net, config.learningRate);
      run.steps += 1;
      run.examples += batch.length;
      return run.lastLoss;
    };
    return run;
  }
  // --8<-- [end:trainer]

  /** Dev-set predictions, accuracy and the 10 x 10 confusion matrix (row: true digit, column: predicted). */
  function evaluate(net, data, cache) {
    var dev = range(data.nTrain, data.nTrain + data.nDev);
    var pred = predict(net, data.X, dev, cache), right = 0, confusion = new Int32Array(N_OUT * N_OUT);
    for (var j = 0; j < dev.length; j++) {
      var y = data.Y[dev[j]];
      if (pred[j] === y) right++;
      confusion[y * N_OUT + pred[j]]++;
    }
    return { predictions: pred, accuracy: right / dev.length, confusion: confusion };
  }

  /** {W1, b1, W2, b2} as flat arrays (row-major) -> a network with zeroed gradients. */
  function fromParams(params) {
    var h = params.b1.length;
    if (params.W1.length !== h * N_IN || params.W2.length !== N_OUT * h || params.b2.length !== N_OUT) {
      throw new Error("params: W1 needs " + h * N_IN + " numbers and W2 " + N_OUT * h + " for " + h + " hidden units");
    }
    return { h: h, W1: Float64Array.from(params.W1), dW1: new Float64Array(h * N_IN),
             b1: Float64Array.from(params.b1), db1: new Float64Array(h),
             W2: Float64Array.from(params.W2), dW2: new Float64Array(N_OUT * h),
             b2: Float64Array.from(params.b2), db2: new Float64Array(N_OUT) };
  }

  root.nnfsNN = {
    N_IN: N_IN, N_OUT: N_OUT, decodeDigits: decodeDigits, loadDigits: loadDigits, makeRng: makeRng,
    initParams: initParams, makeCache: makeCache, relu: relu, reluGrad: reluGrad, softmax: softmax,
    forward: forward, crossEntropy: crossEntropy, backward: backward, updateParams: updateParams,
    predict: predict, evaluate: evaluate, makeTrainer: makeTrainer, fromParams: fromParams, range: range,
  };
})(typeof self !== "undefined" ? self : this);
