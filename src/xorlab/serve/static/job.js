// A job's data on the page: every run's test loss and accuracy per epoch (filled as the
// `epochs` events arrive), each run's latest accuracy, and per side the median loss and
// accuracy and the share of seeds at 100% per epoch.

export function newJob(info) {
  // From the start info: runs 0..n-1 are A's (seeds[i]), n..2n-1 B's of the same seeds.
  // loss, accuracy: (R runs) arrays of (E epochs), null until trained; stats: one per side.
  const R = info.runs, E = info.epochs, n = info.sides[0].count;
  const perEpoch = () => new Array(E).fill(null);
  return {
    id: info.id, runs: R, n, epochs: E, seeds: info.seeds, sides: info.sides,
    settings: [info.settings, info.compare],
    sideOf: (i) => (i < n ? 0 : 1),
    x: Array.from({ length: E }, (_, e) => e + 1),
    loss: Array.from({ length: R }, perEpoch), accuracy: Array.from({ length: R }, perEpoch),
    latest: new Array(R).fill(null),  // each run's latest accuracy
    stats: info.sides.map(() => ({ median: perEpoch(), medianAcc: perEpoch(), perfect: perEpoch() })),
    epochsDirty: new Set(), epoch: 0, rate: null, rateB: null, difference: null, modes: [], modesB: [],
    params: [], summary: null, selected: 0, detail: null, finished: false, paused: false, mapsDirty: true,
  };
}

export function addEpochs(job, data) {
  // An `epochs` event: its snapshots (one per epoch, covering the runs that trained it)
  // and the rates so far.
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
  job.rateB = data.rate_b || null;
  job.difference = data.difference || null;
}

function medianOf(sorted, n) {
  if (!n) return null;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

export function updateStats(job) {
  // Per side and epoch: the median loss and accuracy, and the share of seeds at 100%
  // (typed arrays sort numerically and fast: a stored 500-seed job arrives all at once).
  const loss = new Float64Array(job.n), acc = new Float64Array(job.n);
  for (const e of job.epochsDirty) {
    job.sides.forEach((side, k) => {
      let nl = 0, na = 0, perfect = 0;
      for (let i = side.first; i < side.first + side.count; i++) {
        const l = job.loss[i][e], a = job.accuracy[i][e];
        if (l !== null) loss[nl++] = l;
        if (a !== null) { acc[na++] = a; if (a === 1) perfect++; }
      }
      const st = job.stats[k];
      st.median[e] = medianOf(loss.subarray(0, nl).sort(), nl);
      st.medianAcc[e] = na ? 100 * medianOf(acc.subarray(0, na).sort(), na) : null;
      st.perfect[e] = na ? 100 * perfect / na : null;
    });
  }
  job.epochsDirty.clear();
}
