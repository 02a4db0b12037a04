// The playground's HTTP API (see README): JSON in, JSON out, events from an EventSource.

// The server takes POSTs only with this type, which no other site can send without asking.
const JSON_POST = { "Content-Type": "application/json" };

export async function getMeta() {
  return (await fetch("/api/meta")).json();
}

export async function createJob(body) {
  // -> { ok, body }: the start info, or { error, field } (422 names the field, "b.<name>" for B's)
  const response = await fetch("/api/jobs", { method: "POST", headers: JSON_POST, body: JSON.stringify(body) });
  return { ok: response.ok, body: await response.json() };
}

export async function control(id, action, keepalive = false) {
  // action: "pause" | "resume" | "step" | "cancel"
  const response = await fetch(`/api/jobs/${id}/${action}`, { method: "POST", headers: JSON_POST, keepalive });
  return response.json();
}

export async function runDetail(id, index) {
  const response = await fetch(`/api/jobs/${id}/runs/${index}`);
  return response.ok ? response.json() : null;
}

export function follow(id, handlers) {
  // handlers: { epochs, params, modes, state, done, stopped, error, lost }, each given the parsed data
  const source = new EventSource(`/api/jobs/${id}/events`);
  for (const name of ["epochs", "params", "modes", "state", "done", "stopped", "error"]) {
    source.addEventListener(name, (e) => {
      if (e.data === undefined) return;  // the connection's own "error" (handled below), not the job's
      if (name === "done" || name === "stopped" || name === "error") source.close();
      handlers[name](JSON.parse(e.data));
    });
  }
  source.onerror = () => { if (source.readyState !== EventSource.CLOSED) { source.close(); handlers.lost(); } };
  return source;
}
