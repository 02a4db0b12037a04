// The page's one state object, and the URL as its mirror: every setting of A under its
// own name, B's (when comparing) as "b.<name>", then run=1 and the selected seed.

export const state = {
  meta: null,      // GET /api/meta: defaults, ranges, choices, uses, activations, presets
  compare: false,  // whether setting B is trained beside A
  job: null,       // the job on screen: its start info, arrays and latest state
  trainedQuery: null,  // the URL query of the settings last trained (for run=1)
  dirty: false,    // something new to draw at the next frame
  probe: null,     // an array to collect each frame's draw time in ms (benchmarks/playground.py)
  source: null,    // the job's EventSource
  select: null,    // select(i): show run i (main.js sets it; the charts and the benchmark call it)
};

// The settings, in the order of the contract; seeds and first_seed are A's alone.
export const NAMES = ["activation", "init", "center", "lr", "epochs", "inputs", "hidden", "seeds", "first_seed",
  "optimizer", "momentum", "batch_size", "noise", "weight_decay", "layers"];
export const SHARED = ["seeds", "first_seed"];  // B trains on A's seeds

function encode(name, value) {
  return name === "center" ? (value ? "1" : "0") : String(value ?? "");
}

export function queryOf(a, b) {
  const q = new URLSearchParams();
  for (const n of NAMES) q.set(n, encode(n, a[n]));
  if (b) for (const n of NAMES) if (!SHARED.includes(n)) q.set("b." + n, encode(n, b[n]));
  return q;
}

function decode(name, value) {
  return name === "center" ? value === "1" || value === "true" : value;
}

export function fromUrl(search) {
  // Settings named in the URL (strings; the controls parse them), whether B is there,
  // whether to train at once, and the seed to select.
  const q = new URLSearchParams(search), a = {}, b = {};
  for (const n of NAMES) {
    if (q.has(n)) a[n] = decode(n, q.get(n));
    if (q.has("b." + n)) b[n] = decode(n, q.get("b." + n));
  }
  return { a, b, compare: q.get("compare") === "1" || Object.keys(b).length > 0,
           run: q.get("run") === "1", seed: q.get("seed"), side: q.get("side") };
}

export function writeUrl(a, b) {
  const q = queryOf(a, b), settingsQuery = q.toString();
  if (b) q.set("compare", "1");
  if (state.trainedQuery === settingsQuery) q.set("run", "1");
  const job = state.job;
  if (job) {
    q.set("seed", String(job.seeds[job.selected % job.n]));
    if (job.sides.length > 1 && job.selected >= job.n) q.set("side", "B");
  }
  history.replaceState(null, "", "?" + q.toString());
}
