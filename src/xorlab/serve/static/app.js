// xorlab playground: controls <-> URL, a job's event stream -> the views.
// Every draw happens in one requestAnimationFrame callback, at most once per frame and
// less often for big jobs, so a stream of 500 seeds never blocks the page for long.
// performance marks "xorlab:ready", "xorlab:train" and "xorlab:first-epoch" time the page.
"use strict";

const $ = (id) => document.getElementById(id);
const FIELDS = ["activation", "init", "center", "lr", "epochs", "inputs", "hidden", "seeds", "first_seed"];
const INPUT_ID = { first_seed: "first-seed" };
const el = (field) => $(INPUT_ID[field] || field);
const LOW = "#2f6db5", HIGH = "#d9730d";  // target 0 (or -1) and target 1

// The server takes POSTs only with this type, which no other site can send without asking.
const JSON_POST = { "Content-Type": "application/json" };

let meta = null;      // GET /api/meta: defaults, ranges, choices, presets
let job = null;       // the job on screen: its start event, arrays and latest state
let source = null;    // its EventSource
let trainedQuery = null;  // the URL query of the settings last trained (for run=1)
let dirty = false, lastDraw = 0, detailToken = 0, firstEpochMarked = false;

// ---------- controls, presets and the URL ----------

function readSettings() {
  const s = {};
  for (const f of FIELDS) {
    const input = el(f);
    if (f === "activation" || f === "init") s[f] = input.value;
    else if (f === "center") s[f] = input.checked;
    else s[f] = input.value.trim() === "" ? null : Number(input.value);
  }
  return s;
}

function writeSettings(s) {
  for (const f of FIELDS) {
    if (!(f in s)) continue;
    if (f === "center") el(f).checked = !!s[f];
    else el(f).value = s[f];
  }
  syncSlider();
}

function syncSlider() {
  const lr = Number($("lr").value);
  if (lr > 0) $("lr-slider").value = Math.log10(lr);
}

function queryOf(s) {
  const q = new URLSearchParams();
  for (const f of FIELDS) q.set(f, f === "center" ? (s[f] ? "1" : "0") : String(s[f] ?? ""));
  return q;
}

function updateUrl() {
  const q = queryOf(readSettings());
  const settingsQuery = q.toString();
  if (trainedQuery === settingsQuery) q.set("run", "1");
  if (job) q.set("seed", String(job.seeds[job.selected]));
  history.replaceState(null, "", "?" + q.toString());
}

function settingsFromUrl() {
  const q = new URLSearchParams(location.search);
  const s = {};
  for (const f of FIELDS) {
    if (!q.has(f)) continue;
    const v = q.get(f);
    s[f] = f === "center" ? v === "1" || v === "true" : v;
  }
  return { settings: s, run: q.get("run") === "1", seed: q.get("seed") };
}

function presetMatching(s) {
  for (const [key, p] of Object.entries(meta.presets)) {
    if (FIELDS.every((f) => String(p.settings[f]) === String(s[f]))) return key;
  }
  return "";
}

function setupControls() {
  for (const a of meta.choices.activation) $("activation").add(new Option(a, a));
  for (const [key, p] of Object.entries(meta.presets)) $("preset").add(new Option(p.label, key));
  for (const [f, [lo, hi]] of Object.entries(meta.ranges)) {
    el(f).min = lo; el(f).max = hi;
  }
  $("lr-slider").min = Math.log10(meta.ranges.lr[0]);
  $("lr-slider").max = Math.log10(meta.ranges.lr[1]);
  $("preset").addEventListener("change", () => {
    const p = meta.presets[$("preset").value];
    if (p) writeSettings(p.settings);
    settingsChanged();
  });
  $("lr-slider").addEventListener("input", () => {
    $("lr").value = Number(Math.pow(10, Number($("lr-slider").value)).toPrecision(2));
    settingsChanged();
  });
  for (const f of FIELDS) el(f).addEventListener("change", () => { if (f === "lr") syncSlider(); settingsChanged(); });
  $("controls").addEventListener("submit", (e) => { e.preventDefault(); train(); });
  $("stop").addEventListener("click", stop);
  $("pick-seed").addEventListener("change", () => {
    if (!job) return;
    const i = Number($("pick-seed").value) - job.seeds[0];
    if (Number.isInteger(i) && i >= 0 && i < job.runs) select(i);
    else $("seed-info").textContent = `this job has seeds ${job.seeds[0]} to ${job.seeds[job.runs - 1]}`;
  });
}

function settingsChanged() {
  const s = readSettings();
  $("preset").value = presetMatching(s);
  showPresetNote();
  updateUrl();
}

function showPresetNote() {
  const p = meta.presets[$("preset").value];
  $("preset-note").textContent = p ? p.note : "";
}

function clearMessages() {
  for (const m of document.querySelectorAll(".msg")) m.textContent = "";
}

function setStatus(text) { $("status").textContent = text; }

// ---------- a job: create, stream, stop ----------

async function train() {
  performance.mark("xorlab:train");
  firstEpochMarked = false;
  clearMessages();
  const settings = readSettings();
  let response;
  try {
    response = await fetch("/api/jobs", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settings),
    });
  } catch (err) {
    setStatus("error: cannot reach the server");
    return;
  }
  const body = await response.json();
  if (!response.ok) {
    const field = body.field && document.querySelector(`.msg[data-for="${body.field}"]`);
    if (field) field.textContent = body.error;
    setStatus("error: " + body.error);
    return;
  }
  if (source) source.close();
  trainedQuery = queryOf(settings).toString();
  startView(body);
  updateUrl();
  follow(body.id);
}

function follow(id) {
  source = new EventSource(`/api/jobs/${id}/events`);
  source.addEventListener("epochs", (e) => onEpochs(JSON.parse(e.data)));
  source.addEventListener("params", (e) => { job.params = JSON.parse(e.data).params; job.mapsDirty = true; dirty = true; });
  source.addEventListener("modes", (e) => { job.modes = JSON.parse(e.data).modes; dirty = true; });
  for (const state of ["done", "stopped", "error"]) {
    source.addEventListener(state, (e) => finish(state, JSON.parse(e.data)));
  }
  source.onerror = () => {
    if (job && !job.finished) {
      finish("error", { error: "lost the connection to the server" });
    }
  };
}

async function stop() {
  if (!job || job.finished) return;
  $("stop").disabled = true;
  await fetch(`/api/jobs/${job.id}/cancel`, { method: "POST", headers: JSON_POST });
}

function finish(state, status) {
  if (source) { source.close(); source = null; }
  job.finished = true;
  $("stop").disabled = true;
  $("train").disabled = false;
  if (state === "done") {
    job.summary = status.summary;
    job.modes = status.summary.modes;
    setStatus("done");
    const from = status.cached ? `, ${status.cached} from the results store` : "";
    $("job-info").textContent = `${job.runs} seeds x ${job.epochs} epochs in ${status.seconds.toFixed(1)} s${from}`;
  } else if (state === "stopped") {
    setStatus("stopped");
  } else {
    setStatus("error: " + (status.error || "the job failed"));
  }
  job.mapsDirty = true;
  dirty = true;
  fetchDetail();
}

window.addEventListener("pagehide", () => {
  // A closed tab cancels its job (the server also stops a job whose last listener left).
  // keepalive outlives the page; a beacon cannot say the JSON type the server requires.
  if (job && !job.finished) fetch(`/api/jobs/${job.id}/cancel`, { method: "POST", headers: JSON_POST, keepalive: true });
});

// ---------- the job's data ----------

function startView(info) {
  const R = info.runs, E = info.settings.epochs;
  job = {
    id: info.id, runs: R, epochs: E, seeds: info.seeds, settings: info.settings,
    x: Array.from({ length: E }, (_, e) => e + 1),
    loss: Array.from({ length: R }, () => new Array(E).fill(null)),
    accuracy: Array.from({ length: R }, () => new Array(E).fill(null)),
    latest: new Array(R).fill(null),  // each run's latest accuracy
    median: new Array(E).fill(null), medianAcc: new Array(E).fill(null), perfect: new Array(E).fill(null),
    epochsDirty: new Set(), epoch: 0, rate: null, modes: [], params: [], summary: null,
    selected: 0, detail: null, finished: false, mapsDirty: true, firstEpochAt: null,
  };
  const pick = Number(new URLSearchParams(location.search).get("seed"));
  if (Number.isInteger(pick) && pick - info.seeds[0] >= 0 && pick - info.seeds[0] < R) job.selected = pick - info.seeds[0];
  setStatus(`training: epoch 0/${E}`);
  $("job-info").textContent = "";
  $("stop").disabled = false;
  $("train").disabled = true;
  $("pick-seed").min = info.seeds[0];
  $("pick-seed").max = info.seeds[R - 1];
  $("pick-seed").value = info.seeds[job.selected];
  makeCharts();
  fetchDetail();
  dirty = true;
}

function onEpochs(data) {
  for (const s of data.snapshots) {
    const e = s.epoch - 1;
    for (let k = 0; k < s.runs.length; k++) {
      const i = s.runs[k];
      job.loss[i][e] = s.loss[k];
      job.accuracy[i][e] = s.accuracy[k];
      job.latest[i] = s.accuracy[k];
    }
    job.epochsDirty.add(e);
    job.epoch = Math.max(job.epoch, s.epoch);
  }
  job.rate = data.rate;
  if (!job.finished) setStatus(`training: epoch ${job.epoch}/${job.epochs}`);
  dirty = true;
}

function medianOf(sorted, n) {
  if (!n) return null;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

function updateStats() {
  // Per epoch: the median loss and accuracy, and the share of seeds at 100% (typed
  // arrays sort numerically and fast: a stored 500-seed job arrives all at once).
  const R = job.runs, loss = new Float64Array(R), acc = new Float64Array(R);
  for (const e of job.epochsDirty) {
    let nl = 0, na = 0, perfect = 0;
    for (let i = 0; i < R; i++) {
      const l = job.loss[i][e], a = job.accuracy[i][e];
      if (l !== null) loss[nl++] = l;
      if (a !== null) { acc[na++] = a; if (a === 1) perfect++; }
    }
    job.median[e] = medianOf(loss.subarray(0, nl).sort(), nl);
    job.medianAcc[e] = na ? 100 * medianOf(acc.subarray(0, na).sort(), na) : null;
    job.perfect[e] = na ? 100 * perfect / na : null;
  }
  job.epochsDirty.clear();
}

// ---------- charts ----------

let lossPlot = null, accPlot = null;

function chartWidth(id) { return Math.max(300, $(id).clientWidth || 600); }

function makeCharts() {
  if (lossPlot) lossPlot.destroy();
  if (accPlot) accPlot.destroy();
  const thin = job.runs > 100 ? "rgba(47,109,181,0.12)" : "rgba(47,109,181,0.35)";
  const series = [{ label: "epoch" }];
  for (let i = 0; i < job.runs; i++) {
    series.push({ label: `seed ${job.seeds[i]}`, stroke: i === job.selected ? "#c0392b" : thin,
                  width: i === job.selected ? 2 : 1, points: { show: false } });
  }
  series.push({ label: "median", stroke: "#111", width: 2.5, points: { show: false } });
  lossPlot = new uPlot({
    width: chartWidth("loss-chart"), height: 300, series, legend: { show: false },
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: "epoch" }, { label: "test loss (MSE, log)", size: 60 }],
    cursor: { points: { show: false }, drag: { x: false, y: false } },
  }, lossData(), $("loss-chart"));
  lossPlot.over.addEventListener("click", pickCurve);
  accPlot = new uPlot({
    width: chartWidth("accuracy-chart"), height: 220,
    series: [{ label: "epoch" }, { label: "median accuracy %", stroke: "#2f6db5", width: 2 },
             { label: "seeds at 100% (%)", stroke: "#2e8b57", width: 2 }],
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [{ label: "epoch" }, { label: "%" }], legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  }, [job.x, job.medianAcc, job.perfect], $("accuracy-chart"));
}

// uPlot draws every point of every line: past MAX_POINTS (500 seeds x 200 epochs) the
// chart shows every stride-th epoch, so one redraw stays within a frame's budget.
const MAX_POINTS = 100000;

function lossData() {
  const stride = Math.max(1, Math.ceil(job.runs * job.epochs / MAX_POINTS));
  if (stride === 1) return [job.x, ...job.loss, job.median];
  const pick = (a) => { const out = []; for (let e = stride - 1; e < job.epochs; e += stride) out.push(a[e]); return out; };
  return [pick(job.x), ...job.loss.map(pick), pick(job.median)];
}

function pickCurve(event) {
  // The seed whose line passes closest (in pixels) to the click, at the epoch under it.
  const u = lossPlot, e = u.cursor.idx;
  if (e == null) return;
  const top = event.offsetY;
  let best = -1, bestGap = 12;
  for (let i = 0; i < job.runs; i++) {
    const v = u.data[i + 1][e];
    if (v === null) continue;
    const gap = Math.abs(u.valToPos(v, "y") - top);
    if (gap < bestGap) { best = i; bestGap = gap; }
  }
  if (best >= 0) select(best);
}

function select(i) {
  const old = job.selected;
  job.selected = i;
  $("pick-seed").value = job.seeds[i];
  $("seed-info").textContent = "";
  if (lossPlot) {
    const thin = job.runs > 100 ? "rgba(47,109,181,0.12)" : "rgba(47,109,181,0.35)";
    lossPlot.series[old + 1]._stroke = thin; lossPlot.series[old + 1].width = 1;
    lossPlot.series[i + 1]._stroke = "#c0392b"; lossPlot.series[i + 1].width = 2;
    lossPlot.redraw(false, false);
  }
  updateUrl();
  fetchDetail();
}

async function fetchDetail() {
  if (!job) return;
  const token = ++detailToken, i = job.selected;
  const response = await fetch(`/api/jobs/${job.id}/runs/${i}`);
  if (token !== detailToken || !response.ok) return;
  const detail = await response.json();
  if (detail.params) job.params[i] = detail.params;
  job.detail = detail;
  $("replay").textContent = detail.replay;
  job.mapsDirty = true;
  dirty = true;
}

// ---------- the success panel ----------

function pct(x) { return (100 * x).toFixed(0); }

function drawSuccess() {
  const s = job.summary ? job.summary.rate : job.rate;
  if (!s) return;
  const ci = s.n ? ` (${pct(s.k / s.n)}%, Wilson 95% CI ${pct(s.low)}-${pct(s.high)}%)` : "";
  $("success-rate").textContent = job.summary
    ? `${s.k}/${s.n} seeds reach 100% test accuracy${ci}`
    : `${s.k}/${s.n} seeds at 100% after epoch ${s.epoch}${ci}`;
  const rows = job.modes.map(([mode, n]) => `<tr><td>${mode}</td><td class="n">${n}</td></tr>`);
  $("modes").tBodies[0].innerHTML = rows.join("");
  drawHistogram();
}

function drawHistogram() {
  const c = $("histogram"), g = c.getContext("2d"), bins = new Array(20).fill(0);
  for (const a of job.latest) if (a !== null) bins[Math.min(19, Math.floor(a * 20))]++;
  const max = Math.max(1, ...bins), w = c.width, h = c.height - 18, bw = w / 20;
  g.clearRect(0, 0, c.width, c.height);
  g.fillStyle = "#2f6db5";
  bins.forEach((n, b) => { const bh = (h - 12) * n / max; g.fillRect(b * bw + 1, h - bh, bw - 2, bh); });
  g.fillStyle = "#5b6573"; g.font = "11px sans-serif";
  for (const p of [0, 50, 100]) g.fillText(`${p}%`, Math.min(w - 28, p / 100 * w), c.height - 4);
  bins.forEach((n, b) => { if (n) g.fillText(String(n), b * bw + 2, h - (h - 12) * n / max - 2); });
}

// ---------- the selected seed's network ----------

const ACT = {
  sigmoid: (z) => 1 / (1 + Math.exp(-z)), tanh: Math.tanh, relu: (z) => (z > 0 ? z : 0), linear: (z) => z,
};

function net(params, activation) {
  // The network as a closure over flat weights; `hidden` is one buffer reused by every
  // call (read it before the next call), so a 240x240 map allocates almost nothing.
  const W1 = params["dense1.weight"], b1 = params["dense1.bias"], N = W1[0].length, H = b1.length;
  const W = Float64Array.from(W1.flat()), w2 = params["dense2.weight"][0], b2 = params["dense2.bias"][0];
  const f = ACT[activation], hidden = new Float64Array(H), result = { hidden, out: 0 };
  return (x) => {
    let out = b2;
    for (let j = 0; j < H; j++) {
      let z = b1[j];
      for (let k = 0; k < N; k++) z += W[j * N + k] * x[k];
      hidden[j] = f(z);
      out += w2[j] * hidden[j];
    }
    result.out = out;
    return result;
  };
}

// 256 colours from blue (target low) through white to orange (target high).
const PALETTE = (() => {
  const p = new Uint8Array(3 * 256), a = [47, 109, 181], m = [245, 245, 245], b = [217, 115, 13];
  for (let i = 0; i < 256; i++) {
    const t = i / 255, [from, to, u] = t < 0.5 ? [a, m, t * 2] : [m, b, (t - 0.5) * 2];
    for (let k = 0; k < 3; k++) p[3 * i + k] = Math.round(from[k] + (to[k] - from[k]) * u);
  }
  return p;
})();

function colourAt(t) {  // t in [0, 1] -> offset into PALETTE
  return 3 * Math.round(255 * (t > 1 ? 1 : t > 0 ? t : 0));
}

function colour(t) {
  const i = colourAt(t);
  return [PALETTE[i], PALETTE[i + 1], PALETTE[i + 2]];
}

function corners(n, center) {
  const out = [];
  for (let c = 0; c < 1 << n; c++) {
    const bits = Array.from({ length: n }, (_, k) => (c >> (n - 1 - k)) & 1);
    const y = bits.reduce((s, b) => s + b, 0) % 2;
    out.push({ bits, x: center ? bits.map((b) => 2 * b - 1) : bits, y });
  }
  return out;
}

function paintMap(canvas, f, center) {
  // f(x) -> value in [0, 1] over the input plane (the same frame as xorlab's figures).
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const [lo, hi] = center ? [-1.5, 1.6] : [-0.5, 1.6], img = g.createImageData(w, h), x = new Float64Array(2);
  for (let py = 0; py < h; py++) {
    x[1] = hi - (hi - lo) * py / (h - 1);
    for (let px = 0; px < w; px++) {
      x[0] = lo + (hi - lo) * px / (w - 1);
      const c = colourAt(f(x)), o = 4 * (py * w + px);
      img.data[o] = PALETTE[c]; img.data[o + 1] = PALETTE[c + 1]; img.data[o + 2] = PALETTE[c + 2]; img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  return (x) => [(x[0] - lo) / (hi - lo) * (w - 1), (hi - x[1]) / (hi - lo) * (h - 1)];
}

function drawMaps() {
  const s = job.settings, params = job.params[job.selected];
  const b = $("boundary"), g = b.getContext("2d");
  if (!params || params["dense1.weight"].flat().some((v) => v === null)) {
    g.clearRect(0, 0, b.width, b.height);
    g.fillStyle = "#5b6573"; g.font = "13px sans-serif";
    g.fillText(params ? "this run diverged (NaN weights)" : "waiting for the first epoch", 12, 120);
    return;
  }
  const model = net(params, s.activation), lowT = s.center ? -1 : 0;
  const level = (out) => (out - lowT) / (1 - lowT);  // 0 at the low target, 1 at the high one
  const cs = corners(s.inputs, s.center);
  if (s.inputs === 2) {
    const toPx = paintMap(b, (x) => level(model(x).out), s.center);
    const d = job.detail;
    if (d && d.index === job.selected) {
      g.lineWidth = 0.6; g.strokeStyle = "rgba(0,0,0,0.7)";
      for (let k = 0; k < d.test_x.length; k++) {
        const [px, py] = toPx(d.test_x[k]);
        g.fillStyle = Math.round(d.test_y[k]) > 0 ? HIGH : LOW;
        g.fillRect(px - 1.5, py - 1.5, 3, 3); g.strokeRect(px - 1.5, py - 1.5, 3, 3);
      }
    }
    for (const c of cs) markCorner(g, toPx(c.x), c.y, Math.round(model(c.x).out) !== Math.round(s.center ? 2 * c.y - 1 : c.y));
    $("boundary-caption").textContent = "output over the inputs (orange: high, blue: low), test points, and the corners (x: wrong)";
  } else {
    drawCornerGrid(b, cs, (c) => model(c.x).out, level, s.center);
    $("boundary-caption").textContent = `output on all ${cs.length} corners of the ${s.inputs}-input cube (border: the target)`;
  }
  drawUnits(model, params, cs, s);
  drawHiddenSpace(model, params, cs, s);
}

function markCorner(g, [px, py], y, wrong) {
  g.beginPath(); g.arc(px, py, 9, 0, 2 * Math.PI); g.fillStyle = "#fff"; g.fill();
  g.lineWidth = 1.5; g.strokeStyle = "#111"; g.stroke();
  g.beginPath(); g.arc(px, py, 5, 0, 2 * Math.PI); g.fillStyle = y ? HIGH : LOW; g.fill();
  if (wrong) {
    g.strokeStyle = "#c0392b"; g.lineWidth = 3; g.beginPath();
    g.moveTo(px - 8, py - 8); g.lineTo(px + 8, py + 8); g.moveTo(px + 8, py - 8); g.lineTo(px - 8, py + 8); g.stroke();
  }
}

function drawCornerGrid(canvas, cs, value, level, center) {
  const g = canvas.getContext("2d"), n = cs.length, cols = 1 << Math.ceil(Math.log2(n) / 2);
  const rows = n / cols, cw = canvas.width / cols, ch = canvas.height / rows;
  g.clearRect(0, 0, canvas.width, canvas.height);
  cs.forEach((c, k) => {
    const x = (k % cols) * cw, y = Math.floor(k / cols) * ch, out = value(c);
    g.fillStyle = `rgb(${colour(level(out)).join(",")})`; g.fillRect(x + 2, y + 2, cw - 4, ch - 4);
    g.lineWidth = 3; g.strokeStyle = c.y ? HIGH : LOW; g.strokeRect(x + 3, y + 3, cw - 6, ch - 6);
    g.fillStyle = "#111"; g.font = `${Math.min(12, cw / 5)}px monospace`;
    g.fillText(c.bits.join(""), x + 6, y + 16); g.fillText(out.toFixed(2), x + 6, y + ch - 8);
  });
}

function unitRange(activation) {
  return { sigmoid: [0, 1], tanh: [-1, 1], relu: null, linear: null }[activation];
}

function drawUnits(model, params, cs, s) {
  const box = $("units"), H = s.hidden;
  while (box.children.length > H) box.lastChild.remove();
  while (box.children.length < H) { const c = document.createElement("canvas"); c.width = 80; c.height = 80; box.append(c); }
  const range = unitRange(s.activation);
  for (let j = 0; j < H; j++) {
    const c = box.children[j];
    c.title = `hidden unit ${j + 1}`;
    let [lo, hi] = range || [0, 1];
    if (!range) {  // relu/linear: scale to what the unit outputs on the corners
      const v = cs.map((k) => model(k.x).hidden[j]);
      lo = Math.min(...v, 0); hi = Math.max(...v, lo + 1e-6);
    }
    const scale = (v) => (v - lo) / (hi - lo);
    if (s.inputs === 2) {
      const toPx = paintMap(c, (x) => scale(model(x).hidden[j]), s.center), g = c.getContext("2d");
      for (const k of cs) { const [px, py] = toPx(k.x); g.fillStyle = k.y ? HIGH : LOW; g.fillRect(px - 3, py - 3, 6, 6); }
    } else {
      drawCornerGrid(c, cs, (k) => model(k.x).hidden[j], scale, s.center);
    }
  }
}

function drawHiddenSpace(model, params, cs, s) {
  const c = $("hidden-space"), g = c.getContext("2d"), w = c.width, h = c.height, pad = 28;
  g.clearRect(0, 0, w, h);
  const pts = cs.map((k) => { const hid = model(k.x).hidden; return { p: [hid[0], s.hidden > 1 ? hid[1] : 0], y: k.y, k }; });
  const xs = pts.map((q) => q.p[0]), ys = pts.map((q) => q.p[1]);
  const span = (v) => { const lo = Math.min(...v), hi = Math.max(...v), m = Math.max(0.1, 0.15 * (hi - lo)); return [lo - m, hi + m]; };
  const [x0, x1] = span(xs), [y0, y1] = span(ys);
  const toPx = ([a, b]) => [pad + (a - x0) / (x1 - x0) * (w - 2 * pad), h - pad - (b - y0) / (y1 - y0) * (h - 2 * pad)];
  g.strokeStyle = "#d8dde4"; g.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
  g.fillStyle = "#5b6573"; g.font = "11px sans-serif";
  g.fillText("hidden unit 1", w / 2 - 30, h - 8);
  if (s.hidden > 1) { g.save(); g.translate(11, h / 2 + 30); g.rotate(-Math.PI / 2); g.fillText("hidden unit 2", 0, 0); g.restore(); }
  if (s.hidden === 2) {
    // The output layer's boundary, w2 . h + b2 = the midpoint of the targets: a straight line.
    const w2 = params["dense2.weight"][0], b2 = params["dense2.bias"][0], mid = s.center ? 0 : 0.5;
    const line = [];
    for (const a of [x0, x1]) if (Math.abs(w2[1]) > 1e-12) line.push([a, (mid - b2 - w2[0] * a) / w2[1]]);
    if (line.length === 2) {
      g.save(); g.beginPath(); g.rect(pad, pad, w - 2 * pad, h - 2 * pad); g.clip();
      g.strokeStyle = "#111"; g.setLineDash([5, 4]); g.lineWidth = 1.5; g.beginPath();
      g.moveTo(...toPx(line[0])); g.lineTo(...toPx(line[1])); g.stroke(); g.restore();
    }
  }
  const labels = new Map();  // corners that land on one point share a label: "01, 10"
  for (const q of pts) {
    const [px, py] = toPx(q.p);
    g.beginPath(); g.arc(px, py, 6, 0, 2 * Math.PI); g.fillStyle = q.y ? HIGH : LOW; g.fill();
    g.strokeStyle = "#111"; g.lineWidth = 1; g.stroke();
    const at = `${Math.round(px / 6)},${Math.round(py / 6)}`;
    labels.set(at, [...(labels.get(at) || [px, py]), q.k.bits.join("")]);
  }
  if (cs.length <= 8) {
    g.fillStyle = "#111";
    for (const [px, py, ...names] of labels.values()) g.fillText(names.join(", "), Math.min(px + 8, w - 60), py - 8);
  }
  $("hidden-caption").textContent = s.hidden === 2
    ? "the corners in hidden-unit space; dashed: the output's boundary, a straight line"
    : s.hidden > 2 ? `the corners in the space of hidden units 1 and 2 (of ${s.hidden})`
    : "the corners on the one hidden unit's axis";
}

// ---------- the draw loop ----------

function frame(now) {
  // Big jobs redraw less often: 500 curves of 1000 epochs are 500k points per draw.
  const points = job ? job.runs * Math.max(job.epoch, 1) : 0;
  const gap = points > 200000 ? 500 : points > 20000 ? 200 : 0;
  if (dirty && job && now - lastDraw >= gap) {
    dirty = false; lastDraw = now;
    updateStats();
    lossPlot.setData(lossData());
    accPlot.setData([job.x, job.medianAcc, job.perfect]);
    drawSuccess();
    if (job.mapsDirty) { job.mapsDirty = false; drawMaps(); }
    if (job.epoch > 0 && !firstEpochMarked) { firstEpochMarked = true; performance.mark("xorlab:first-epoch"); }
  }
  requestAnimationFrame(frame);
}

// ---------- start ----------

async function main() {
  meta = await (await fetch("/api/meta")).json();
  $("version").textContent = meta.version;
  setupControls();
  const url = settingsFromUrl();
  writeSettings({ ...meta.defaults, ...url.settings });
  $("preset").value = presetMatching(readSettings());
  showPresetNote();
  requestAnimationFrame(frame);
  document.body.dataset.ready = "1";
  performance.mark("xorlab:ready");
  if (url.run) train();
}

main();
