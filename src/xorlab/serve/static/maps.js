// The selected run's two big maps: its output over the inputs (with the test points and
// the corners) and the corners in the last hidden layer's space.
import { HIGH, LOW, PALETTE, colour, colourAt, frame } from "./model.js";

export function paintMap(canvas, f, center) {
  // f(x) -> value in [0, 1] over the input square (inputs 3..N stay as x holds them);
  // returns x -> [px, py] for marks on top.
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const [lo, hi] = frame(center), img = g.createImageData(w, h), x = new Float64Array(8).fill(center ? -1 : 0);
  for (let py = 0; py < h; py++) {
    x[1] = hi - (hi - lo) * py / (h - 1);
    for (let px = 0; px < w; px++) {
      x[0] = lo + (hi - lo) * px / (w - 1);
      const c = colourAt(f(x)), o = 4 * (py * w + px);
      img.data[o] = PALETTE[c]; img.data[o + 1] = PALETTE[c + 1]; img.data[o + 2] = PALETTE[c + 2]; img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  return (p) => [(p[0] - lo) / (hi - lo) * (w - 1), (hi - p[1]) / (hi - lo) * (h - 1)];
}

export function message(canvas, text) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#5b6573"; g.font = "13px sans-serif";
  g.fillText(text, 12, canvas.height / 2);
}

export function drawBoundary(canvas, model, level, cs, s, detail) {
  // N = 2: the output over the square, the test points and the corners (x: wrong);
  // N > 2: a grid of every corner's output. Returns the caption.
  const g = canvas.getContext("2d");
  if (s.inputs > 2) {
    drawCornerGrid(canvas, cs, (c) => model(c.x).out, level);
    return `output on all ${cs.length} corners of the ${s.inputs}-input cube (border: the target)`;
  }
  const toPx = paintMap(canvas, (x) => level(model(x).out), s.center);
  if (detail) {
    g.lineWidth = 0.6; g.strokeStyle = "rgba(0,0,0,0.7)";
    for (let k = 0; k < detail.test_x.length; k++) {
      const [px, py] = toPx(detail.test_x[k]);
      g.fillStyle = Math.round(detail.test_y[k]) > 0 ? HIGH : LOW;
      g.fillRect(px - 1.5, py - 1.5, 3, 3); g.strokeRect(px - 1.5, py - 1.5, 3, 3);
    }
  }
  for (const c of cs) markCorner(g, toPx(c.x), c.y, Math.round(level(model(c.x).out)) !== c.y);
  return "output over the inputs (orange: high, blue: low), test points, and the corners (x: wrong)";
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

function drawCornerGrid(canvas, cs, value, level) {
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

export function drawHiddenSpace(canvas, model, params, cs, s) {
  // The corners at the last hidden layer's units 1 and 2; with two units, the output
  // layer's boundary there is a straight line. Returns the caption.
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 28, L = s.layers;
  g.clearRect(0, 0, w, h);
  const pts = cs.map((k) => { const hid = model(k.x).hidden[L - 1]; return { p: [hid[0], s.hidden > 1 ? hid[1] : 0], k }; });
  const span = (v) => { const lo = Math.min(...v), hi = Math.max(...v), m = Math.max(0.1, 0.15 * (hi - lo)); return [lo - m, hi + m]; };
  const [x0, x1] = span(pts.map((q) => q.p[0])), [y0, y1] = span(pts.map((q) => q.p[1]));
  const toPx = ([a, b]) => [pad + (a - x0) / (x1 - x0) * (w - 2 * pad), h - pad - (b - y0) / (y1 - y0) * (h - 2 * pad)];
  g.strokeStyle = "#d8dde4"; g.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
  g.fillStyle = "#5b6573"; g.font = "11px sans-serif";
  g.fillText("unit 1", w / 2 - 15, h - 8);
  if (s.hidden > 1) { g.save(); g.translate(11, h / 2 + 15); g.rotate(-Math.PI / 2); g.fillText("unit 2", 0, 0); g.restore(); }
  if (s.hidden === 2) boundaryLine(g, params, s, [x0, x1], toPx, [pad, w - 2 * pad, h - 2 * pad]);
  const labels = new Map();  // corners that land on one point share a label: "01, 10"
  for (const q of pts) {
    const [px, py] = toPx(q.p);
    g.beginPath(); g.arc(px, py, 6, 0, 2 * Math.PI); g.fillStyle = q.k.y ? HIGH : LOW; g.fill();
    g.strokeStyle = "#111"; g.lineWidth = 1; g.stroke();
    const at = `${Math.round(px / 6)},${Math.round(py / 6)}`;
    labels.set(at, [...(labels.get(at) || [px, py]), q.k.bits.join("")]);
  }
  if (cs.length <= 8) {
    g.fillStyle = "#111";
    for (const [px, py, ...names] of labels.values()) g.fillText(names.join(", "), Math.min(px + 8, w - 60), py - 8);
  }
  const layer = L > 1 ? `the last hidden layer's` : "hidden-unit";
  return s.hidden === 2 ? `the corners in ${layer} space; dashed: the output's boundary, a straight line`
    : s.hidden > 2 ? `the corners at ${layer} units 1 and 2 (of ${s.hidden})` : `the corners on the one unit's axis`;
}

function boundaryLine(g, params, s, [x0, x1], toPx, [pad, w, h]) {
  // w . h + b = the midpoint of the targets, in the last hidden layer's two units.
  const out = `dense${s.layers + 1}`, w2 = params[`${out}.weight`][0], b2 = params[`${out}.bias`][0], mid = s.center ? 0 : 0.5;
  if (Math.abs(w2[1]) < 1e-12) return;
  const line = [x0, x1].map((a) => [a, (mid - b2 - w2[0] * a) / w2[1]]);
  g.save(); g.beginPath(); g.rect(pad, pad, w, h); g.clip();
  g.strokeStyle = "#111"; g.setLineDash([5, 4]); g.lineWidth = 1.5; g.beginPath();
  g.moveTo(...toPx(line[0])); g.lineTo(...toPx(line[1])); g.stroke(); g.restore();
}
