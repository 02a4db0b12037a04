"""The results store: every run of a study in one embedded SQLite file.

A run is keyed by its config (which carries its seed), the engine that trained it and
that engine's version (`engines.ENGINE_VERSIONS`), so a re-run reuses finished runs and
a changed engine retrains. Runs are trained in the planner's pieces and each one is committed
before the next starts (WAL journal), so an interrupted study (Ctrl-C, kill -9)
resumes where it stopped and loses at most the chunk in flight. (On a cluster, see
`executor.py`, chunks train side by side and each is committed as it completes; the
store is still the only writer.) Each run also records where it was trained (host,
torch version, CPU capability): see PROVENANCE.

A run's arrays are stored as their raw NumPy bytes, with dtype and shape beside them,
rather than as numbers, because Python's sqlite3 turns NaN into NULL; a run's status
('ok' or 'diverged') is stored explicitly for the same reason. (Raw bytes rather than
`.npy`/`.npz`: parsing their headers cost over 2 ms a run when loading a study.)
"""

from __future__ import annotations

import json
import math
import sqlite3
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from . import machine
from .config import RunConfig, logged_batches
from .engines import ENGINE_VERSIONS, ProgressCallback, resolve, run_many
from .executor import Executor, LocalExecutor
from .engines.plan import DEFAULT_MAX_RUNS, plan
from .model import layer_shapes
from .result import RunResult

FILENAME = "runs.sqlite"

# Runs trained (and committed) together at most: the planner's piece size.
CHUNK_RUNS = DEFAULT_MAX_RUNS

# Bumped whenever the table below changes; a store of another version is refused, not
# misread, or migrated (MIGRATIONS).
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,          -- config key + engine + engine version
    config_key TEXT NOT NULL,
    config TEXT NOT NULL,          -- RunConfig as JSON (knobs at their defaults left out)
    seed INTEGER,
    engine TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'diverged')),
    final_test_loss REAL,          -- NULL when not finite; the curves keep the NaN
    final_correct INTEGER NOT NULL,
    final_accuracy REAL NOT NULL,
    success INTEGER NOT NULL,
    layout TEXT NOT NULL,          -- JSON [name, dtype, shape, offset] of each array in `arrays`
    arrays BLOB NOT NULL,          -- train_loss (epochs, L), test_loss (epochs,),
                                   -- test_correct (epochs,), then each final parameter
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    host TEXT,                     -- where it ran (see PROVENANCE); NULL for runs of schema 1
    torch_version TEXT,
    cpu_capability TEXT            -- torch.backends.cpu.get_cpu_capability(), e.g. AVX512
);
"""

# Where each run was trained: a `machine.provenance()` key (a result's
# extras["provenance"]) -> its column. Float rounding can differ between CPUs with
# different vector units, so a run's numbers say which machine made them.
PROVENANCE = {"host": "host", "torch": "torch_version", "cpu_capability": "cpu_capability"}

# Statements that bring a store of an older schema version up to this one.
MIGRATIONS = {
    1: [f"ALTER TABLE runs ADD COLUMN {column} TEXT" for column in PROVENANCE.values()],
}

Runner = Callable[..., list[RunResult]]

# How long a connection waits for another's write (a chunk's commit, a schema being made)
# before it gives up with "database is locked".
BUSY_TIMEOUT_S = 30.0


PARAM = "param:"  # prefix of parameter names in a layout


def pack(arrays: dict[str, np.ndarray]) -> tuple[str, bytes]:
    """Arrays as one blob plus a JSON layout giving each one's dtype, shape and offset."""
    layout, parts, offset = [], [], 0
    for name, a in arrays.items():
        data = np.ascontiguousarray(a).tobytes()
        layout.append([name, np.asarray(a).dtype.str, list(np.shape(a)), offset])
        parts.append(data)
        offset += len(data)
    return json.dumps(layout), b"".join(parts)


def unpack(layout: str, blob: bytes) -> dict[str, np.ndarray]:
    arrays = {}
    for name, dtype, shape, offset in json.loads(layout):
        count = math.prod(shape)
        arrays[name] = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
    return arrays


def run_key(config: RunConfig, engine: str) -> str:
    """The store key of a config trained by a (resolved) engine at its current version."""
    return f"{config.key()}:{engine}:{ENGINE_VERSIONS[engine]}"


def chunks(configs: Sequence[RunConfig], size: int, engine: str = "jax") -> Iterator[list[RunConfig]]:
    """The configs in the planner's pieces (engines/plan.py) of at most `size` runs."""
    for piece in plan(configs, max_runs=size, engine=engine):
        yield [configs[i] for i in piece]


class StoreError(ValueError):
    """The store file exists but cannot be used (damaged, read-only, or another schema)."""


# A row that cannot be read back (its layout not JSON, its arrays cut short, ...) is
# treated as missing: its run is trained again and the row replaced.
DAMAGED_ROW = (ValueError, TypeError, KeyError, IndexError)


@contextmanager
def reporting(path: Path):
    """SQLite's errors as one StoreError naming the file and what to do about it."""
    try:
        yield
    except sqlite3.DatabaseError as err:
        text = str(err)
        if "readonly" in text or "unable to open" in text or "read-only" in text:
            advice = "make the file and its folder writable, or use another output folder"
        elif "malformed" in text or "not a database" in text or "corrupt" in text:
            advice = ("move it away and run again to start afresh (sqlite3's .recover may save its "
                      "runs), or use another output folder")
        else:
            advice = "check the file, or use another output folder"
        raise StoreError(f"cannot use the results store {path} ({text}): {advice}") from None


def wal_mode(db: sqlite3.Connection, wait_s: float = BUSY_TIMEOUT_S) -> None:
    """Put the store in WAL mode (readers never wait for the writer). Switching a new
    file's mode takes a lock that SQLite does not wait for: a second connection doing
    the same at that moment is told "database is locked" at once, so it tries again."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Store:
    """Runs in an SQLite file; `run` trains only what is missing."""

    def __init__(self, path: str | Path, runner: Runner | None = None, executor: Executor | None = None):
        """`executor` trains the missing runs (default: here, by `runner`, itself
        `run_many` by default); this store is the only writer of its file either way."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._runner = runner or run_many
        self.executor = executor or LocalExecutor(self._runner)
        with reporting(self.path):
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            wal_mode(self.db)
            self._check_schema()

    def _check_schema(self) -> None:
        """Read, create or migrate the schema, one connection at a time: two processes (or
        the playground's two jobs) opening a new store at once would otherwise both create
        it, or one would read the other's half-made schema. The immediate write also finds
        a store that cannot be written now, not after its first chunk has trained."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._bring_up_to_date()
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(sys.exc_info()[1], StoreError):
                self.db.close()
            raise

    def _bring_up_to_date(self) -> None:
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        empty = not self.db.execute("SELECT name FROM sqlite_master").fetchall()
        if empty:
            self.db.execute(SCHEMA)
        elif version in MIGRATIONS:
            for v in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[v]:
                    self.db.execute(statement)
        elif version != SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by another version of xorlab's store "
                             f"(schema {version}, this is {SCHEMA_VERSION}); use another output folder")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        with reporting(self.path):
            return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def put(self, results: Sequence[RunResult], engine: str) -> None:
        """Store results trained by `engine` (resolved name) in one transaction. A result
        without provenance (trained here, outside an executor: the playground's) is
        stamped with this machine's, so every stored run says where it was trained."""
        here = machine.provenance()
        for r in results:
            r.extras.setdefault("provenance", here)
        with reporting(self.path), self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO runs (key, config_key, config, seed, engine, engine_version, "
                "status, final_test_loss, final_correct, final_accuracy, success, layout, arrays, "
                f"{', '.join(PROVENANCE.values())}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row(r, engine) + provenance_row(r) for r in results],
            )

    def get(self, configs: Sequence[RunConfig], engine: str) -> dict[str, RunResult]:
        """Stored results for the configs, by store key (missing ones absent)."""
        return self.lookup(configs, engine)[1]

    def _get(self, keys: list[str]) -> dict[str, RunResult]:
        found = {}
        with reporting(self.path):
            for start in range(0, len(keys), 500):  # SQLite caps the number of parameters
                part = keys[start:start + 500]
                marks = ",".join("?" * len(part))
                for rec in self.db.execute(
                    "SELECT key, config, engine, layout, arrays, status, final_correct "
                    f"FROM runs WHERE key IN ({marks})", part):
                    try:
                        found[rec[0]] = checked(from_row(rec[:5]), *rec[5:])
                    except DAMAGED_ROW:
                        pass  # missing, then: trained again and replaced
        return found

    def lookup(self, configs: Sequence[RunConfig], engine: str) -> tuple[list[str], dict[str, RunResult]]:
        """Each config's key under `engine` (a resolved name) and the stored results
        among them, by key: what `run` and the playground's jobs need to know before
        training only the rest."""
        if any(c.seed is None for c in configs):
            raise ValueError("every config in a study must carry its seed")
        keys = [run_key(c, engine) for c in configs]  # hashing a config is not free: once each
        return keys, self._get(list(dict.fromkeys(keys)))

    def run(self, configs: Sequence[RunConfig], engine: str = "auto",
            on_progress: ProgressCallback | None = None, chunk_runs: int | None = None) -> list[RunResult]:
        """Results for the configs, in order: stored ones reused, missing ones trained
        chunk by chunk, each chunk committed before the next. `on_progress(n)` is called
        with the runs found stored, then with each batch of runs trained.
        `chunk_runs` defaults to CHUNK_RUNS."""
        name = resolve(engine)
        keys, found = self.lookup(configs, name)
        missing = {k: c for k, c in zip(keys, configs) if k not in found}
        if on_progress is not None:
            on_progress(sum(k in found for k in keys))
        pieces = list(chunks(list(missing.values()), chunk_runs or CHUNK_RUNS, name))
        for _, results in self.executor.map(pieces, name, on_progress):  # as each piece completes
            self.put(results, name)
            found.update((run_key(r.config, name), r) for r in results)
        return [found[k] for k in keys]

    def machines(self) -> list[dict[str, str | None]]:
        """The distinct places (PROVENANCE) the stored runs were trained, with run counts."""
        cols = ", ".join(PROVENANCE.values())
        recs = self.db.execute(f"SELECT {cols}, COUNT(*) FROM runs GROUP BY {cols} ORDER BY {cols}")
        return [{**dict(zip(PROVENANCE, rec[:-1])), "runs": rec[-1]} for rec in recs]


def row(r: RunResult, engine: str) -> tuple:
    c = r.config
    final_loss = r.final_test_loss
    layout, blob = pack({"train_loss": r.train_loss, "test_loss": r.test_loss,
                         "test_correct": r.test_correct,
                         **{PARAM + k: v for k, v in r.params.items()}})
    return (run_key(c, engine), c.key(), c.to_json(), c.seed, engine, ENGINE_VERSIONS[engine],
            "diverged" if r.diverged else "ok", final_loss if np.isfinite(final_loss) else None,
            r.final_correct, r.final_accuracy, int(r.success), layout, blob)


def provenance_row(r: RunResult) -> tuple:
    where = r.extras["provenance"]
    return tuple(where.get(k) for k in PROVENANCE)


def param_shapes(c: RunConfig) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for name, fan_in, fan_out in layer_shapes(c.inputs, c.hidden, c.layers):
        shapes.update({f"{name}.weight": (fan_out, fan_in), f"{name}.bias": (fan_out,)})
    return shapes


def checked(r: RunResult, status: str, final_correct: int) -> RunResult:
    """`r` if its numbers are possible for its config and agree with the row's own
    columns; else ValueError (DAMAGED_ROW: the run is trained again), so an edited or
    damaged row never reaches a report."""
    c = r.config
    shapes = {"train_loss": r.train_loss.shape, "test_loss": r.test_loss.shape, "test_correct": r.test_correct.shape,
              **{k: v.shape for k, v in r.params.items()}}
    expected = {"train_loss": (c.epochs, len(logged_batches(c))), "test_loss": (c.epochs,),
                "test_correct": (c.epochs,), **param_shapes(c)}
    if shapes != expected:
        raise ValueError(f"arrays of shapes {shapes}, expected {expected}")
    correct = r.test_correct
    if correct.dtype.kind not in "iu" or correct.min() < 0 or correct.max() > c.test_total:
        raise ValueError(f"test_correct outside 0 to {c.test_total}")
    if final_correct != r.final_correct or status != ("diverged" if r.diverged else "ok"):
        raise ValueError("the row's columns disagree with its arrays (a non-finite number in a run not "
                         "recorded as diverged, or the reverse)")
    return r


def from_row(rec: tuple) -> RunResult:
    _, config, engine, layout, blob = rec
    arrays = unpack(layout, blob)
    params = {k[len(PARAM):]: v for k, v in arrays.items() if k.startswith(PARAM)}
    return RunResult(config=RunConfig.from_dict(json.loads(config)), train_loss=arrays["train_loss"],
                     test_loss=arrays["test_loss"], test_correct=arrays["test_correct"],
                     params=params, engine=engine)
