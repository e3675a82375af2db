/* train-worker.js: runs the training of nn.js off the page's main thread.
 *
 * The page (train.js) sends {type: "load", url} once, then "reset" (with a config),
 * "play", "pause", "step", "config" (a new learning rate, batch size or trainer) and
 * "weights". The worker trains in slices of about SLICE_MS, and after each slice posts a
 * "progress" message: the step, epoch, examples, training seconds, the mean loss of the
 * slice's batches, and (every EVAL_MS or so, and always on a pause or a step) the dev
 * accuracy, the confusion matrix and a float32 copy of W1 for the pictures. Between two
 * slices it yields (setTimeout 0), so "pause" is heard within one slice.
 */
/* global importScripts, nnfsNN */
importScripts("nn.js");

var SLICE_MS = 30;     // training time between two progress messages
var EVAL_MS = 150;     // at most this often: a dev evaluation and a copy of W1 (unless asked)

var nn = self.nnfsNN;
var data = null, run = null, config = null, evalCache = null;
var playing = false, trainSeconds = 0, lastEval = -Infinity, pendingLoss = [], timer = null;

function post(type, body) {
  body.type = type;
  self.postMessage(body);
}

function reset(newConfig) {
  config = newConfig;
  run = nn.makeTrainer(data, config);
  evalCache = nn.makeCache(config.hidden, data.nDev);
  trainSeconds = 0;
  pendingLoss = [];
  report(true, "reset");
}

/** Post where training stands; with `full`, evaluate the dev set and send W1 too. */
function report(full, reason) {
  var body = { reason: reason, steps: run.steps, epoch: run.epoch, examples: run.examples,
               seconds: trainSeconds, playing: playing, losses: pendingLoss };
  pendingLoss = [];
  var now = performance.now();
  if (full || now - lastEval >= EVAL_MS) {
    lastEval = now;
    var dev = nn.evaluate(run.net, data, evalCache);
    body.devAccuracy = dev.accuracy;
    body.confusion = dev.confusion;
    body.W1 = Float32Array.from(run.net.W1);                 // (h, 784) for the pictures
    self.postMessage(Object.assign(body, { type: "progress" }), [body.W1.buffer]);
    return;
  }
  post("progress", body);
}

/** Train for about SLICE_MS, then report and yield to the message queue. */
function slice() {
  timer = null;
  if (!playing) return;
  var t0 = performance.now(), t;
  do {
    var loss = run.step();
    pendingLoss.push([run.steps, loss]);
    t = performance.now();
  } while (t - t0 < SLICE_MS);
  trainSeconds += (t - t0) / 1000;                          // training only, not the evaluation
  if (!isFinite(loss)) {                                      // diverged: stop, and say so
    playing = false;
    report(true, "diverged");
    return;
  }
  report(false, "slice");
  timer = setTimeout(slice, 0);
}

self.onmessage = function (event) {
  var msg = event.data;
  try {
    if (msg.type === "load") {
      nn.loadDigits(msg.url).then(function (loaded) {
        data = loaded;
        post("loaded", { nTrain: data.nTrain, nDev: data.nDev });
      }, function (err) { post("error", { message: String(err && err.message || err) }); });
    } else if (msg.type === "reset") {
      playing = false;
      reset(msg.config);
    } else if (msg.type === "config") {                     // live: learning rate, batch size, trainer
      config.learningRate = msg.config.learningRate;
      config.batchSize = msg.config.batchSize;
      config.trainer = msg.config.trainer;
    } else if (msg.type === "play") {
      playing = true;
      if (timer === null) timer = setTimeout(slice, 0);
    } else if (msg.type === "pause") {
      playing = false;
      report(true, "pause");
    } else if (msg.type === "step") {
      playing = false;
      var t0 = performance.now();
      var loss = run.step();
      trainSeconds += (performance.now() - t0) / 1000;
      pendingLoss.push([run.steps, loss]);
      report(true, "step");
    } else if (msg.type === "weights") {
      var net = run.net;
      post("weights", { id: msg.id, h: net.h, W1: Array.from(net.W1), b1: Array.from(net.b1),
                        W2: Array.from(net.W2), b2: Array.from(net.b2), steps: run.steps });
    }
  } catch (err) {
    post("error", { message: String(err && err.message || err) });
  }
};
