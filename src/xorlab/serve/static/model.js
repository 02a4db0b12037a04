// The selected run's network in JavaScript (no DOM): the forward pass of xorlab's XorNet
// from a `params` event's weights (dense1 .. dense{L+1}, model.py), the colours of its
// maps, and the corners of the input cube.

// The formula names /api/meta's `activations` gives each activation.
const FORMULAS = {
  sigmoid: (z) => 1 / (1 + Math.exp(-z)), tanh: Math.tanh, relu: (z) => (z > 0 ? z : 0), linear: (z) => z,
};

// Each unit's output range, for its map's colours; null: scaled to what it outputs.
export const UNIT_RANGE = { sigmoid: [0, 1], tanh: [-1, 1], relu: null, linear: null };

export function layersOf(params) {
  // [{ W: Float64Array (out * in), b, n_in, n_out }] for dense1 .. dense{L+1}
  const out = [];
  for (let l = 1; `dense${l}.weight` in params; l++) {
    const W = params[`dense${l}.weight`];  // (out, in)
    out.push({ W: Float64Array.from(W.flat()), b: params[`dense${l}.bias`], nIn: W[0].length, nOut: W.length });
  }
  return out;
}

export function usable(params) {
  // Parameters that exist and are all finite (a diverged run has NaN or null weights).
  return !!params && Object.values(params).every((p) => p.flat().every((v) => v !== null && Number.isFinite(v)));
}

export function net(params, formula) {
  // x -> { hidden: [Float64Array (H) per hidden layer], out }. The buffers are reused by
  // every call (read them before the next), so a map of many pixels allocates nothing.
  const layers = layersOf(params), f = FORMULAS[formula];
  const hidden = layers.slice(0, -1).map((l) => new Float64Array(l.nOut)), result = { hidden, out: 0 };
  const last = layers[layers.length - 1];
  return (x) => {
    let input = x;
    for (let l = 0; l < hidden.length; l++) {
      const { W, b, nIn, nOut } = layers[l], h = hidden[l];
      for (let j = 0; j < nOut; j++) {
        let z = b[j];
        for (let k = 0; k < nIn; k++) z += W[j * nIn + k] * input[k];
        h[j] = f(z);
      }
      input = h;
    }
    let out = last.b[0];
    for (let k = 0; k < last.nIn; k++) out += last.W[k] * input[k];
    result.out = out;
    return result;
  };
}

export const LOW = "#2f6db5", HIGH = "#d9730d";  // target 0 (or -1) and target 1; negative and positive weights

// 256 colours from blue (low) through white to orange (high).
export const PALETTE = (() => {
  const p = new Uint8Array(3 * 256), a = [47, 109, 181], m = [245, 245, 245], b = [217, 115, 13];
  for (let i = 0; i < 256; i++) {
    const t = i / 255, [from, to, u] = t < 0.5 ? [a, m, t * 2] : [m, b, (t - 0.5) * 2];
    for (let k = 0; k < 3; k++) p[3 * i + k] = Math.round(from[k] + (to[k] - from[k]) * u);
  }
  return p;
})();

export function colourAt(t) {  // t in [0, 1] -> offset into PALETTE (NaN: the middle)
  return 3 * Math.round(255 * (t > 1 ? 1 : t > 0 ? t : t <= 0 ? 0 : 0.5));
}

export function colour(t) {
  const i = colourAt(t);
  return [PALETTE[i], PALETTE[i + 1], PALETTE[i + 2]];
}

export function corners(n, center) {
  // Every corner of the n-input cube: its bits, its input vector and its XOR target.
  const out = [];
  for (let c = 0; c < 1 << n; c++) {
    const bits = Array.from({ length: n }, (_, k) => (c >> (n - 1 - k)) & 1);
    const y = bits.reduce((s, b) => s + b, 0) % 2;
    out.push({ bits, x: center ? bits.map((b) => 2 * b - 1) : bits, y });
  }
  return out;
}

export function frame(center) {
  // The input square the maps show (the same frame as xorlab's figures): [lo, hi] on each axis.
  return center ? [-1.5, 1.6] : [-0.5, 1.6];
}

export function outputLevel(center) {
  // The output as a colour position: 0 at the low target, 1 at the high one.
  const low = center ? -1 : 0;
  return (out) => (out - low) / (1 - low);
}
