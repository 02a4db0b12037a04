// The settings' controls, built from /api/meta (ranges, choices, presets): A's column,
// and B's when comparing (the same controls, ids prefixed "b-", less the shared seeds).
import { NAMES, SHARED, state } from "./state.js";

// The page's words and widgets; every range, choice and default comes from meta.
const FIELDS = [
  { name: "activation", label: "Activation", kind: "choice" },
  { name: "init", label: "Weight init", kind: "choice" },
  { name: "center", label: "Centred inputs (-1/+1 instead of 0/1)", kind: "check" },
  { name: "optimizer", label: "Optimizer", kind: "choice" },
  { name: "lr", label: "Learning rate", step: "any" },
  { name: "momentum", label: "Momentum", step: "any" },
  { name: "batch_size", label: "Batch size", step: "1" },
  { name: "noise", label: "Input noise (uniform amplitude)", step: "any" },
  { name: "weight_decay", label: "Weight decay", step: "any" },
  { name: "layers", label: "Hidden layers", step: "1" },
  { name: "hidden", label: "Hidden units per layer H", step: "1" },
  { name: "inputs", label: "Inputs N", step: "1" },
  { name: "epochs", label: "Epochs", step: "1" },
  { name: "seeds", label: "Seeds", step: "1" },
  { name: "first_seed", label: "First seed", step: "1" },
];

export const testid = (name) => name.replace(/_/g, "-");
const idOf = (side, name) => (side === "b" ? "b-" : "") + testid(name);
export const control = (side, name) => document.getElementById(idOf(side, name));

function make(tag, { dataset = {}, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

function input(side, f) {
  const { meta } = state, id = idOf(side, f.name), attrs = { id, dataset: { testid: id } };
  if (f.kind === "choice") {
    const select = make("select", attrs);
    for (const c of meta.choices[f.name]) select.add(new Option(c.label, c.value));
    return select;
  }
  if (f.kind === "check") return make("input", { ...attrs, type: "checkbox" });
  const [min, max] = meta.ranges[f.name];
  return make("input", { ...attrs, type: "number", step: f.step, min, max });
}

function field(side, f) {
  // <div.field> label, the control (with a log slider for log-scale ranges), its message
  const box = make("div", { className: f.kind === "check" ? "field check" : "field" });
  const label = make("label", { htmlFor: idOf(side, f.name), textContent: f.label });
  const control = input(side, f), msg = make("span", { className: "msg", dataset: { for: (side === "b" ? "b." : "") + f.name } });
  if (f.kind === "check") box.append(control, label, msg);
  else if (state.meta.ranges.log.includes(f.name)) box.append(label, make("div", { className: "pair" }, logSlider(control), control), msg);
  else box.append(label, control, msg);
  return box;
}

function logSlider(number) {
  const [lo, hi] = state.meta.ranges[number.id.replace(/^b-/, "").replace(/-/g, "_")];
  const slider = make("input", { type: "range", step: 0.05, min: Math.log10(lo), max: Math.log10(hi),
                                 ariaLabel: `${number.id} (log scale)`, className: "log-slider" });
  slider.addEventListener("input", () => {
    number.value = Number(Math.pow(10, Number(slider.value)).toPrecision(2));
    number.dispatchEvent(new Event("change", { bubbles: true }));
  });
  number.addEventListener("change", () => { if (Number(number.value) > 0) slider.value = Math.log10(Number(number.value)); });
  return slider;
}

function presetSelect(side) {
  const id = idOf(side, "preset"), select = make("select", { id, dataset: { testid: id } });
  select.add(new Option("(your own settings)", ""));
  const groups = { tutorial: make("optgroup", { label: "The tutorial" }), beyond: make("optgroup", { label: "Beyond the tutorial" }) };
  for (const [key, p] of Object.entries(state.meta.presets)) groups[p.group].append(new Option(p.label, key));
  select.append(groups.tutorial, groups.beyond);
  const box = make("div", { className: "field" }, make("label", { htmlFor: id, textContent: "Preset" }), select,
                   make("p", { id: id + "-note", className: "note preset-note" }));
  return box;
}

export function build(side, into) {
  // A's controls, or B's (less the shared seeds), into the given element.
  into.append(presetSelect(side));
  for (const f of FIELDS) if (side !== "b" || !SHARED.includes(f.name)) into.append(field(side, f));
}

export function read(side) {
  // The settings on one side's controls: numbers as numbers (null when empty); a momentum
  // the optimizer does not read is the default (the server refuses any other).
  const s = {}, kinds = Object.fromEntries(FIELDS.map((f) => [f.name, f.kind]));
  for (const n of NAMES) {
    if (side === "b" && SHARED.includes(n)) continue;
    const c = control(side, n);
    if (kinds[n] === "choice") s[n] = c.value;
    else if (kinds[n] === "check") s[n] = c.checked;
    else s[n] = c.value.trim() === "" ? null : Number(c.value);
  }
  if (!usesMomentum(s.optimizer)) s.momentum = state.meta.defaults.momentum;
  return s;
}

export function write(side, settings) {
  for (const [n, v] of Object.entries(settings)) {
    const c = control(side, n);
    if (!c) continue;
    if (c.type === "checkbox") c.checked = !!v;
    else c.value = v;
    if (c.type === "number") c.dispatchEvent(new Event("change"));  // its slider follows
  }
  syncSide(side);
}

const usesMomentum = (optimizer) => state.meta.uses.momentum.includes(optimizer);

export function syncSide(side) {
  // Momentum is greyed out unless the optimizer reads it; the preset shows what matches.
  const s = read(side);
  control(side, "momentum").disabled = !usesMomentum(s.optimizer);
  const preset = control(side, "preset");
  preset.value = presetMatching(s);
  document.getElementById(preset.id + "-note").textContent = preset.value ? state.meta.presets[preset.value].note : "";
}

function presetMatching(s) {
  for (const [key, p] of Object.entries(state.meta.presets)) {
    if (Object.keys(s).every((n) => String(p.settings[n]) === String(s[n]))) return key;
  }
  return "";
}

export function differences(a, b) {
  // The names of B's settings that differ from A's, for "B differs in: ...".
  return Object.keys(b).filter((n) => String(a[n]) !== String(b[n]));
}

export function applyPreset(side) {
  const p = state.meta.presets[control(side, "preset").value];
  if (p) write(side, side === "b" ? withoutShared(p.settings) : p.settings);
}

function withoutShared(s) {
  return Object.fromEntries(Object.entries(s).filter(([n]) => !SHARED.includes(n)));
}

export function clearMessages() {
  for (const m of document.querySelectorAll(".msg")) m.textContent = "";
}

export function showError(field, message) {
  const m = field && document.querySelector(`.msg[data-for="${field}"]`);
  if (m) m.textContent = message;
}
