/* softmax-explorer.js: the explorer at the end of the Softmax page.
 *
 * For the scores z (one column), it shows each step of the definition,
 *   e^{z_i},  S = sum_k e^{z_k},  p_i = e^{z_i} / S                  (naive: overflows)
 * and of the stable version that nnfs.softmax computes,
 *   e^{z_i - max},  S' = sum_k e^{z_k - max},  p_i = e^{z_i - max} / S'   (never overflows)
 * Formats follow the build's table on the same page: e^z and sums to 3 decimals,
 * probabilities to 2. tests/test_softmax_explorer.py checks the numbers against nnfs.softmax.
 */
(function () {
  "use strict";

  var root = document.getElementById("nnfs-softmax");
  if (!root) return;
  var initial = JSON.parse(root.dataset.logits);
  var z = initial.slice();

  /** The definition, as the original notebook wrote it: e^z / sum e^z. */
  function softmaxNaive(z) {
    var e = z.map(Math.exp), sum = 0;
    for (var i = 0; i < e.length; i++) sum += e[i];
    return { e: e, sum: sum, p: e.map(function (v) { return v / sum; }) };
  }

  /** nnfs.softmax: subtract the max first, so every exponent is <= 0 and e^{z - max} is in (0, 1]. */
  function softmaxStable(z) {
    var max = Math.max.apply(null, z), e = z.map(function (v) { return Math.exp(v - max); }), sum = 0;
    for (var i = 0; i < e.length; i++) sum += e[i];
    return { max: max, e: e, sum: sum, p: e.map(function (v) { return v / sum; }) };
  }

  function show(x, digits) {
    if (Number.isNaN(x)) return "NaN";
    if (x === Infinity) return "∞";
    if (Math.abs(x) >= 1e9) return x.toExponential(3);
    return x.toFixed(digits);
  }

  var html = '<div class="nnfs-softmax-scroll"><table class="nnfs-softmax-table">' +
    "<caption>Softmax of " + z.length + " scores, step by step: the definition, then the stable version</caption>" +
    '<thead><tr><th scope="col"><i>i</i></th><th scope="col">score <i>z<sub>i</sub></i></th>' +
    '<th scope="col"><i>e<sup>z<sub>i</sub></sup></i></th><th scope="col">definition <i>p<sub>i</sub></i></th>' +
    '<th scope="col"><i>e<sup>z<sub>i</sub> − max</sup></i></th><th scope="col">stable <i>p<sub>i</sub></i></th></tr></thead><tbody>';
  for (var i = 0; i < z.length; i++) {
    html += '<tr data-row="' + i + '"><th scope="row">' + i + "</th>" +
      '<td class="nnfs-score"><input type="range" min="-10" max="10" step="0.1" aria-label="score z' + i + ', slider">' +
      '<input type="number" step="any" aria-label="score z' + i + '"></td>' +
      '<td data-cell="exp"></td><td data-cell="naive"></td><td data-cell="exp-shifted"></td>' +
      '<td data-cell="stable"><span class="nnfs-sm-bar" aria-hidden="true"><span></span></span><span data-value></span></td></tr>';
  }
  html += '</tbody><tfoot><tr><th scope="row">sum</th><td data-cell="max"></td><td data-cell="sum"></td>' +
    '<td data-cell="naive-sum"></td><td data-cell="sum-shifted"></td><td data-cell="stable-sum"></td></tr></tfoot></table></div>' +
    '<div class="nnfs-buttons">' +
    '<button type="button" class="md-button nnfs-button" data-action="big">Set z0 to 1000</button>' +
    '<button type="button" class="md-button nnfs-button" data-action="up">Add 10 to every score</button>' +
    '<button type="button" class="md-button nnfs-button" data-action="down">Subtract 10 from every score</button>' +
    '<button type="button" class="md-button nnfs-button" data-action="reset">Reset</button></div>' +
    '<p class="nnfs-softmax-status" role="status" data-cell="verdict"></p>';
  root.innerHTML = html;

  var rows = root.querySelectorAll("tbody tr");
  function cell(name, row) { return (row === undefined ? root : rows[row]).querySelector('[data-cell="' + name + '"]'); }

  function update(skip) {
    var naive = softmaxNaive(z), stable = softmaxStable(z), worst = 0, nan = false;
    for (var i = 0; i < z.length; i++) {
      var range = rows[i].querySelector("input[type=range]"), number = rows[i].querySelector("input[type=number]");
      if (skip !== range) range.value = String(Math.max(-10, Math.min(10, z[i])));
      if (skip !== number) number.value = String(z[i]);
      cell("exp", i).textContent = show(naive.e[i], 3);
      cell("naive", i).textContent = show(naive.p[i], 2);
      cell("exp-shifted", i).textContent = show(stable.e[i], 3);
      var stableCell = cell("stable", i);
      stableCell.querySelector("[data-value]").textContent = show(stable.p[i], 2);
      stableCell.querySelector(".nnfs-sm-bar > span").style.width = (100 * stable.p[i]) + "%";
      if (Number.isNaN(naive.p[i])) nan = true;
      else worst = Math.max(worst, Math.abs(naive.p[i] - stable.p[i]));
    }
    cell("max").textContent = "max " + show(stable.max, 1);
    cell("sum").textContent = show(naive.sum, 3);
    cell("naive-sum").textContent = show(naive.p.reduce(function (a, b) { return a + b; }, 0), 2);
    cell("sum-shifted").textContent = show(stable.sum, 3);
    cell("stable-sum").textContent = show(stable.p.reduce(function (a, b) { return a + b; }, 0), 2);
    cell("verdict").textContent = nan
      ? "The definition overflows: e^" + show(stable.max, 1) + " is infinite in float64, and ∞ / ∞ is NaN. " +
        "The stable version subtracts the max, " + show(stable.max, 1) + ", so its largest exponential is e^0 = 1, and it still works."
      : "Subtracting the max, " + show(stable.max, 1) + ", changes nothing: the two columns of probabilities differ by at most " +
        (worst === 0 ? "0" : worst.toExponential(1)) + " (rounding in the last bits).";
    root.classList.toggle("nnfs-overflow", nan);
  }

  root.addEventListener("input", function (event) {
    var row = event.target.closest("tr[data-row]");
    if (!row || event.target.value === "") return;
    var v = Number(event.target.value);
    if (!isFinite(v)) return;
    z[Number(row.dataset.row)] = v;
    update(event.target);
  });
  root.addEventListener("click", function (event) {
    var action = event.target.dataset && event.target.dataset.action;
    if (!action) return;
    if (action === "big") z[0] = 1000;
    else if (action === "up") z = z.map(function (v) { return Math.round((v + 10) * 1e9) / 1e9; });
    else if (action === "down") z = z.map(function (v) { return Math.round((v - 10) * 1e9) / 1e9; });
    else if (action === "reset") z = initial.slice();
    update();
  });
  update();

  window.nnfsSoftmaxExplorer = {
    logits: function () { return z.slice(); },
    set: function (values) { z = values.slice(); update(); },
    naive: function () { return softmaxNaive(z); },
    stable: function () { return softmaxStable(z); },
  };
})();
