// The network view, drawn as TensorFlow Playground draws it: the inputs, each hidden
// layer's units as small maps of their output over the input square, the output's map;
// edges coloured by the weight's sign and as wide as its size (relative to the largest).
import { HIGH, LOW, PALETTE, UNIT_RANGE, colourAt, frame, layersOf, outputLevel } from "./model.js";

const G = 32;  // each map's pixels a side (drawn larger by CSS)
const SVG = "http://www.w3.org/2000/svg";

function columns(box, s) {
  // The view's columns of node canvases, rebuilt when the net's shape changes.
  const shape = `${s.inputs}-${s.hidden}x${s.layers}`;
  const cols = box.querySelector(".net-cols");
  if (box.dataset.shape === shape) return [...cols.children].map((c) => [...c.querySelectorAll("canvas")]);
  box.dataset.shape = shape;
  cols.replaceChildren();
  box.querySelector("svg").replaceChildren();
  const sizes = [s.inputs, ...Array(s.layers).fill(s.hidden), 1];
  const names = ["inputs", ...sizes.slice(1, -1).map((_, l) => `layer ${l + 1}`), "output"];
  return sizes.map((n, c) => {
    const col = document.createElement("div");
    col.className = "net-col";
    col.append(Object.assign(document.createElement("span"), { className: "net-head", textContent: names[c] }));
    const nodes = Array.from({ length: n }, (_, j) => {
      const canvas = Object.assign(document.createElement("canvas"), { width: G, height: G, className: "node" });
      canvas.title = c === 0 ? `input x${j + 1}` : c === sizes.length - 1 ? "the output" : `${names[c]}, unit ${j + 1}`;
      canvas.classList.toggle("small", s.hidden > 8 && c > 0 && c < sizes.length - 1);
      canvas.classList.toggle("out", c === sizes.length - 1);
      return canvas;
    });
    col.append(...nodes);
    cols.append(col);
    return nodes;
  });
}

function sample(model, s, nodes) {
  // Every node's value at every pixel: one forward pass per pixel. -> Float64Array (G*G) per node, by column
  const [lo, hi] = frame(s.center), held = s.center ? -1 : 0;
  const values = nodes.map((col) => col.map(() => new Float64Array(G * G))), x = new Float64Array(s.inputs).fill(held);
  for (let py = 0; py < G; py++) {
    x[1] = hi - (hi - lo) * py / (G - 1);
    for (let px = 0; px < G; px++) {
      x[0] = lo + (hi - lo) * px / (G - 1);
      const r = model(x), p = py * G + px;
      for (let k = 0; k < s.inputs; k++) values[0][k][p] = x[k];
      r.hidden.forEach((h, l) => { for (let j = 0; j < h.length; j++) values[l + 1][j][p] = h[j]; });
      values[values.length - 1][0][p] = r.out;
    }
  }
  return values;
}

function paint(canvas, v, scale) {
  const g = canvas.getContext("2d"), img = g.createImageData(G, G);
  for (let p = 0; p < G * G; p++) {
    const c = colourAt(scale(v[p]));
    img.data[4 * p] = PALETTE[c]; img.data[4 * p + 1] = PALETTE[c + 1]; img.data[4 * p + 2] = PALETTE[c + 2]; img.data[4 * p + 3] = 255;
  }
  g.putImageData(img, 0, 0);
}

function scaleOf(range, v) {
  // [lo, hi] -> [0, 1]; relu and linear units: what the unit outputs over the map
  let [lo, hi] = range || [Math.min(0, ...v), Math.max(...v)];
  if (!(hi > lo)) hi = lo + 1e-6;
  return (z) => (z - lo) / (hi - lo);
}

function edges(box, nodes, layers) {
  // One <line> per weight, from each unit of a column to each of the next.
  const svg = box.querySelector("svg"), origin = box.getBoundingClientRect();
  svg.setAttribute("width", origin.width); svg.setAttribute("height", origin.height);
  const centre = (n, side) => { const r = n.getBoundingClientRect(); return [r.left - origin.left + side * r.width, r.top - origin.top + r.height / 2]; };
  const wmax = Math.max(1e-12, ...layers.map((l) => Math.max(...l.W.map(Math.abs))));
  let k = 0;
  layers.forEach((l, c) => {
    for (let j = 0; j < l.nOut; j++) for (let i = 0; i < l.nIn; i++) {
      const line = svg.children[k++] || svg.appendChild(document.createElementNS(SVG, "line"));
      const w = l.W[j * l.nIn + i], [x1, y1] = centre(nodes[c][i], 1), [x2, y2] = centre(nodes[c + 1][j], 0);
      line.setAttribute("x1", x1); line.setAttribute("y1", y1); line.setAttribute("x2", x2); line.setAttribute("y2", y2);
      line.setAttribute("stroke", w >= 0 ? HIGH : LOW);
      line.setAttribute("stroke-width", (0.4 + 4.6 * Math.abs(w) / wmax).toFixed(2));
    }
  });
  while (svg.children.length > k) svg.lastChild.remove();
}

export function drawNetwork(box, model, params, s, formula) {
  // Returns the note under the view (what the maps show).
  const nodes = columns(box, s), values = sample(model, s, nodes), [lo, hi] = frame(s.center);
  values[0].forEach((v, k) => paint(nodes[0][k], v, scaleOf([lo, hi], v)));
  for (let c = 1; c < values.length - 1; c++) values[c].forEach((v, j) => paint(nodes[c][j], v, scaleOf(UNIT_RANGE[formula], v)));
  paint(nodes[nodes.length - 1][0], values[values.length - 1][0], outputLevel(s.center));
  edges(box, nodes, layersOf(params));
  const held = s.center ? "-1" : "0";
  const rest = s.inputs > 2 ? ` Inputs x3..x${s.inputs} are held at ${held} (their "off" value), so every map shows the slice of the ${s.inputs}-input cube where only x1 and x2 vary.` : "";
  return `Each map: a unit's output over x1 (across) and x2 (up); orange high, blue low. Edges: orange positive, blue negative weights, width their size.${rest}`;
}

export function clearNetwork(box) {
  // No finite weights to draw (not started, or diverged): no stale picture either.
  delete box.dataset.shape;
  box.querySelector(".net-cols").replaceChildren();
  box.querySelector("svg").replaceChildren();
}
