// xorlab playground: the controls and the URL in, a job's event stream out to the views.
// Every draw happens in one requestAnimationFrame callback, at most once per frame and
// less often for big jobs, so a stream of 500 seeds never blocks the page for long.
// performance marks "xorlab:ready", "xorlab:train" and "xorlab:first-epoch" time the page;
// `window.xorlab` is the page's one state object (for the tests and the benchmark).
import * as api from "./api.js";
import { drawSuccess, highlight, makeCharts, redrawCharts, resizeCharts } from "./charts.js";
import * as controls from "./controls.js";
import { addEpochs, newJob, updateStats } from "./job.js";
import { drawBoundary, drawHiddenSpace, message } from "./maps.js";
import { corners, net, outputLevel, usable } from "./model.js";
import { clearNetwork, drawNetwork } from "./network.js";
import { SHARED, fromUrl, queryOf, state, writeUrl } from "./state.js";

const $ = (id) => document.getElementById(id);
let detailToken = 0, lastDraw = 0, firstEpochMarked = false;

function settings() {
  const a = controls.read("a");
  return { a, b: state.compare ? controls.read("b") : null };
}

function settingsChanged(toUrl = true) {
  controls.syncSide("a");
  const { a, b } = settings();
  if (b) {
    controls.syncSide("b");
    const names = controls.differences(a, b);
    $("b-differs").textContent = names.length ? `B differs in: ${names.join(", ")}` : "B is the same as A: change something";
  }
  if (toUrl) writeUrl(a, b);
}

function setCompare(on) {
  state.compare = on;
  $("compare").checked = on;
  $("controls-b").hidden = !on;
  document.body.classList.toggle("comparing", on);
}

function setStatus(text) { $("status").textContent = text; }

function setButtons(job) {
  const running = job && !job.finished;
  $("train").disabled = !!running;
  $("stop").disabled = !running;
  $("pause").disabled = !running || job.paused;
  $("resume").disabled = !running || !job.paused;
  $("step").disabled = !running;
}

// ---------- a job: create, stream, control ----------

async function train() {
  performance.mark("xorlab:train");
  firstEpochMarked = false;
  controls.clearMessages();
  const { a, b } = settings();
  let reply;
  try {
    reply = await api.createJob(b ? { a, b } : a);
  } catch (err) {
    setStatus("error: cannot reach the server");
    return;
  }
  if (!reply.ok) {
    controls.showError(reply.body.field, reply.body.error);
    setStatus("error: " + reply.body.error);
    return;
  }
  if (state.source) state.source.close();
  state.trainedQuery = queryOf(a, b).toString();
  startView(reply.body);
  writeUrl(a, b);
  state.source = api.follow(reply.body.id, handlers);
}

const handlers = {
  epochs: onEpochs,
  params: (d) => { state.job.params = d.params; state.job.mapsDirty = true; state.dirty = true; },
  modes: (d) => { state.job.modes = d.modes; state.job.modesB = d.modes_b || []; state.dirty = true; },
  state: onState,
  done: (d) => finish("done", d),
  stopped: (d) => finish("stopped", d),
  error: (d) => finish("error", d),
  lost: () => { if (state.job && !state.job.finished) finish("error", { error: "lost the connection to the server" }); },
};

function onState(d) {
  const job = state.job;
  job.paused = d.state === "paused";
  if (job.paused) {
    setStatus(`paused at epoch ${d.epoch}/${job.epochs}`);
    fetchDetail();  // the selected run's parameters at the paused epoch
  } else {
    setStatus(`training: epoch ${job.epoch}/${job.epochs}`);
  }
  setButtons(job);
}

async function act(action) {
  const job = state.job;
  if (!job || job.finished) return;
  if (action === "cancel") $("stop").disabled = true;
  await api.control(job.id, action);
}

function finish(how, status) {
  const job = state.job;
  state.source = null;
  job.finished = true;
  job.paused = false;
  setButtons(job);
  if (how === "done") {
    job.summary = status.summary;
    job.modes = status.summary.modes;
    job.modesB = status.summary.b ? status.summary.b.modes : [];
    setStatus("done");
    const from = status.cached ? `, ${status.cached} from the results store` : "";
    $("job-info").textContent = `${job.runs} runs x ${job.epochs} epochs in ${status.seconds.toFixed(1)} s${from}`;
  } else if (how === "stopped") {
    setStatus("stopped");
    if (status.reason) $("job-info").textContent = status.reason;
  } else {
    setStatus("error: " + (status.error || "the job failed"));
  }
  job.mapsDirty = true;
  state.dirty = true;
  fetchDetail();
}

// ---------- the job on screen ----------

function startView(info) {
  const job = newJob(info), url = fromUrl(location.search);
  state.job = job;
  const pick = Number(url.seed) - info.seeds[0];
  if (Number.isInteger(pick) && pick >= 0 && pick < job.n) job.selected = pick + (url.side === "B" && info.compare ? job.n : 0);
  setStatus(`training: epoch 0/${job.epochs}`);
  $("job-info").textContent = "";
  setButtons(job);
  $("pick-seed").min = info.seeds[0];
  $("pick-seed").max = info.seeds[job.n - 1];
  $("pick-seed").value = info.seeds[job.selected % job.n];
  $("pick-side").value = job.selected >= job.n ? "B" : "A";
  $("pick-side").disabled = !info.compare;
  makeCharts(job);
  fetchDetail();
  state.dirty = true;
}

function onEpochs(data) {
  const job = state.job;
  addEpochs(job, data);
  if (!job.finished && !job.paused) setStatus(`training: epoch ${job.epoch}/${job.epochs}`);
  state.dirty = true;
}

// ---------- the selected run ----------

function select(i) {
  const job = state.job, old = job.selected;
  job.selected = i;
  $("pick-seed").value = job.seeds[i % job.n];
  $("pick-side").value = i >= job.n ? "B" : "A";
  $("seed-info").textContent = "";
  highlight(job, old, i);
  const { a, b } = settings();
  writeUrl(a, b);
  fetchDetail();
}

function pickFromControls() {
  const job = state.job;
  if (!job) return;
  const i = Number($("pick-seed").value) - job.seeds[0], side = $("pick-side").value === "B" && job.sides.length > 1 ? job.n : 0;
  if (Number.isInteger(i) && i >= 0 && i < job.n) select(i + side);
  else $("seed-info").textContent = `this job has seeds ${job.seeds[0]} to ${job.seeds[job.n - 1]}`;
}

async function fetchDetail() {
  const job = state.job;
  if (!job) return;
  const token = ++detailToken, i = job.selected;
  const detail = await api.runDetail(job.id, i);
  if (token !== detailToken || !detail) return;
  if (detail.params) job.params[i] = detail.params;
  job.detail = detail;
  $("replay").textContent = detail.replay;
  job.mapsDirty = true;
  state.dirty = true;
}

function drawMaps(job) {
  // The selected run's output map, hidden space and network, from its latest parameters.
  const i = job.selected, s = job.settings[job.sideOf(i)], params = job.params[i];
  if (!usable(params)) {
    const why = params ? "this run diverged (NaN weights)" : "waiting for the first epoch";
    for (const id of ["boundary", "hidden-space"]) message($(id), why);
    clearNetwork($("network"));
    $("network-note").textContent = why;
    return;
  }
  const formula = state.meta.activations[s.activation], model = net(params, formula);
  const cs = corners(s.inputs, s.center), detail = job.detail && job.detail.index === i ? job.detail : null;
  $("boundary-caption").textContent = drawBoundary($("boundary"), model, outputLevel(s.center), cs, s, detail);
  $("hidden-caption").textContent = drawHiddenSpace($("hidden-space"), model, params, cs, s);
  $("network-note").textContent = drawNetwork($("network"), model, params, s, formula);
}

// ---------- the draw loop ----------

function frame(now) {
  // Big jobs redraw less often: 500 curves of 1000 epochs are 500k points per draw.
  const job = state.job, start = performance.now();
  const points = job ? job.runs * Math.max(job.epoch, 1) : 0;
  const gap = points > 200000 ? 500 : points > 20000 ? 200 : 0;
  if (state.dirty && job && now - lastDraw >= gap) {
    state.dirty = false; lastDraw = now;
    updateStats(job);
    redrawCharts(job);
    drawSuccess(job);
    if (job.mapsDirty) { job.mapsDirty = false; drawMaps(job); }
    if (job.epoch > 0 && !firstEpochMarked) { firstEpochMarked = true; performance.mark("xorlab:first-epoch"); }
    if (state.probe) state.probe.push(performance.now() - start);
  }
  requestAnimationFrame(frame);
}

// ---------- start ----------

function wire() {
  $("controls").addEventListener("change", (e) => {
    if (e.target.id === "preset" || e.target.id === "b-preset") controls.applyPreset(e.target.id === "preset" ? "a" : "b");
    if (e.target.id === "compare") toggleCompare(e.target.checked);
    settingsChanged();
  });
  $("controls").addEventListener("submit", (e) => { e.preventDefault(); train(); });
  $("stop").addEventListener("click", () => act("cancel"));
  for (const action of ["pause", "resume", "step"]) $(action).addEventListener("click", () => act(action));
  $("pick-seed").addEventListener("change", pickFromControls);
  $("pick-side").addEventListener("change", pickFromControls);
  let resizing = false;
  window.addEventListener("resize", () => {
    if (resizing) return;
    resizing = true;
    requestAnimationFrame(() => {
      resizing = false;
      resizeCharts();
      if (state.job) { state.job.mapsDirty = true; state.dirty = true; }  // the network's edges follow its nodes
    });
  });
  window.addEventListener("pagehide", () => {
    // A closed tab cancels its job (the server also stops a job whose last listener left).
    const job = state.job;
    if (job && !job.finished) api.control(job.id, "cancel", true);
  });
}

function toggleCompare(on) {
  // Turning compare on starts B as a copy of A: change what B should try.
  if (on) controls.write("b", withoutShared(controls.read("a")));
  setCompare(on);
}

function withoutShared(s) {
  return Object.fromEntries(Object.entries(s).filter(([n]) => !SHARED.includes(n)));
}

async function main() {
  state.meta = await api.getMeta();
  state.select = select;
  window.xorlab = state;
  $("version").textContent = state.meta.version;
  controls.build("a", $("controls-a"));
  controls.build("b", $("controls-b-fields"));
  const url = fromUrl(location.search), a = { ...state.meta.defaults, ...url.a };
  controls.write("a", a);
  controls.write("b", { ...withoutShared(a), ...url.b });
  setCompare(url.compare);
  wire();
  settingsChanged(false);
  requestAnimationFrame(frame);
  document.body.dataset.ready = "1";
  performance.mark("xorlab:ready");
  if (url.run) train();
}

main();
