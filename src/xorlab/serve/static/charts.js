// The job's charts and numbers: every run's test loss (A blue, B purple, medians bold),
// the median accuracy and share of seeds at 100%, each side's success rate with its Wilson
// interval, B - A with its 95% interval, the accuracy histogram and the failure modes.
import { state } from "./state.js";

const SIDE = [{ thin: "47,109,181", median: "#111" }, { thin: "142,68,173", median: "#5b1f7a" }];  // A, B
const $ = (id) => document.getElementById(id);
let lossPlot = null, accPlot = null;

function thin(job, i) {
  const alpha = job.runs > 100 ? 0.12 : 0.35;
  return `rgba(${SIDE[job.sideOf(i)].thin},${alpha})`;
}

function chartWidth(id) {
  // The card's inner width (the chart's own canvas no longer counts once it is out of the flow).
  const card = $(id).parentElement, style = getComputedStyle(card);
  return Math.max(200, card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
}

export function makeCharts(job) {
  if (lossPlot) lossPlot.destroy();
  if (accPlot) accPlot.destroy();
  const series = [{ label: "epoch" }];
  for (let i = 0; i < job.runs; i++) {
    series.push({ label: `run ${i}`, stroke: i === job.selected ? "#c0392b" : thin(job, i),
                  width: i === job.selected ? 2 : 1, points: { show: false } });
  }
  job.sides.forEach((s, k) => series.push({ label: `median ${s.name}`, stroke: SIDE[k].median, width: 2.5, points: { show: false } }));
  lossPlot = new uPlot({
    width: chartWidth("loss-chart"), height: 300, series, legend: { show: false },
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: "epoch" }, { label: "test loss (MSE, log)", size: 60 }],
    cursor: { points: { show: false }, drag: { x: false, y: false } },
  }, lossData(job), $("loss-chart"));
  lossPlot.over.addEventListener("click", (e) => pickCurve(job, e));
  const acc = [{ label: "epoch" }];
  job.sides.forEach((s, k) => acc.push(
    { label: `${s.name}: median accuracy %`, stroke: k ? "#8e44ad" : "#2f6db5", width: 2 },
    { label: `${s.name}: seeds at 100% (%)`, stroke: k ? "#8e44ad" : "#2e8b57", width: 2, dash: [6, 4] }));
  accPlot = new uPlot({
    width: chartWidth("accuracy-chart"), height: 220, series: acc,
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [{ label: "epoch" }, { label: "%" }], legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  }, accData(job), $("accuracy-chart"));
}

// uPlot draws every point of every line: past MAX_POINTS (500 seeds x 200 epochs) the
// chart shows every stride-th epoch, so one redraw stays within a frame's budget.
const MAX_POINTS = 100000;

function lossData(job) {
  const stride = Math.max(1, Math.ceil(job.runs * job.epochs / MAX_POINTS)), medians = job.stats.map((s) => s.median);
  if (stride === 1) return [job.x, ...job.loss, ...medians];
  const pick = (a) => { const out = []; for (let e = stride - 1; e < job.epochs; e += stride) out.push(a[e]); return out; };
  return [pick(job.x), ...job.loss.map(pick), ...medians.map(pick)];
}

function accData(job) {
  return [job.x, ...job.stats.flatMap((s) => [s.medianAcc, s.perfect])];
}

export function resizeCharts() {
  // A window made narrower (a phone turned, a pane resized) gets charts that fit it.
  if (lossPlot) lossPlot.setSize({ width: chartWidth("loss-chart"), height: 300 });
  if (accPlot) accPlot.setSize({ width: chartWidth("accuracy-chart"), height: 220 });
}

export function redrawCharts(job) {
  lossPlot.setData(lossData(job));
  accPlot.setData(accData(job));
}

function pickCurve(job, event) {
  // The run whose line passes closest (in pixels) to the click, at the epoch under it.
  const u = lossPlot, e = u.cursor.idx;
  if (e == null) return;
  let best = -1, bestGap = 12;
  for (let i = 0; i < job.runs; i++) {
    const v = u.data[i + 1][e];
    if (v === null) continue;
    const gap = Math.abs(u.valToPos(v, "y") - event.offsetY);
    if (gap < bestGap) { best = i; bestGap = gap; }
  }
  if (best >= 0) state.select(best);
}

export function highlight(job, old, i) {
  if (!lossPlot) return;
  // uPlot keeps a series' colour as a function (`stroke`) and as its last value (`_stroke`).
  const paint = (s, colour, width) => { s.stroke = () => colour; s._stroke = colour; s.width = width; };
  paint(lossPlot.series[old + 1], thin(job, old), 1);
  paint(lossPlot.series[i + 1], "#c0392b", 2);
  lossPlot.redraw(false, false);
}

const pct = (x) => (100 * x).toFixed(0);

function rateText(r, done) {
  if (!r) return "no runs yet";
  const ci = r.n ? ` (${pct(r.k / r.n)}%, Wilson 95% CI ${pct(r.low)}-${pct(r.high)}%)` : "";
  return done ? `${r.k}/${r.n} seeds reach 100% test accuracy${ci}` : `${r.k}/${r.n} seeds at 100% after epoch ${r.epoch}${ci}`;
}

function differenceText(d) {
  if (!d) return "";
  const pts = (x) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(0)}`;
  const est = d.estimate === null ? "no estimate yet" : `B - A = ${pts(d.estimate)} points`;
  const ci = d.low === null ? "" : ` (${Math.round(100 * d.level)}% CI ${pts(d.low)} to ${pts(d.high)})`;
  return `${est}${ci}. ${d.verdict}`;
}

export function drawSuccess(job) {
  const sum = job.summary, done = !!sum;
  $("success-rate").textContent = rateText(done ? sum.rate : job.rate, done);
  const compare = job.sides.length > 1;
  $("rate-b").textContent = compare ? rateText(done ? sum.b.rate : job.rateB, done) : "";
  const d = done ? sum.difference : job.difference;
  $("difference").textContent = compare ? differenceText(d) : "";
  $("method").textContent = compare && d ? `Interval: ${d.method}.` : "";
  $("modes").tBodies[0].innerHTML = modeRows(job.modes, compare ? job.modesB : null);
  drawHistogram(job);
}

function modeRows(a, b) {
  // One row per failure mode of either side: its count in A (and in B).
  const countA = new Map(a), countB = new Map(b || []), names = [...new Set([...countA.keys(), ...countB.keys()])];
  const head = b ? "<tr><th></th><th>A</th><th>B</th></tr>" : "";
  const cell = (m, n) => `<td class="n">${m.get(n) ?? 0}</td>`;
  return head + names.map((n) => `<tr><td>${n}</td>${cell(countA, n)}${b ? cell(countB, n) : ""}</tr>`).join("");
}

function drawHistogram(job) {
  // Each side's runs' latest accuracy in 20 bins; B's bars beside A's.
  const c = $("histogram"), g = c.getContext("2d"), w = c.width, h = c.height - 18, bw = w / 20;
  const bins = job.sides.map((s) => {
    const b = new Array(20).fill(0);
    for (let i = s.first; i < s.first + s.count; i++) { const a = job.latest[i]; if (a !== null) b[Math.min(19, Math.floor(a * 20))]++; }
    return b;
  });
  const max = Math.max(1, ...bins.flat()), share = bw / bins.length;
  g.clearRect(0, 0, c.width, c.height);
  g.font = "11px sans-serif";
  bins.forEach((b, k) => b.forEach((n, i) => {
    const bh = (h - 12) * n / max, x = i * bw + k * share;
    g.fillStyle = k ? "#8e44ad" : "#2f6db5"; g.fillRect(x + 1, h - bh, share - 2, bh);
    if (n) { g.fillStyle = "#5b6573"; g.fillText(String(n), x + 1, h - bh - 2); }
  }));
  g.fillStyle = "#5b6573";
  for (const p of [0, 50, 100]) g.fillText(`${p}%`, Math.min(w - 28, p / 100 * w), c.height - 4);
}
