"""The jax engine: whole runs in one XLA program per setting, runs side by side.

Per piece of the plan (plan.py; its runs share a `program.Setting` and an epoch
budget): the runs are laid out runs-innermost in lane blocks, one block per XLA CPU
device (both cores where the process has two devices: the CLI, the tests and the
benchmarks set that up; a notebook keeps its own JAX settings and gets one), their
data decoded straight into the blocks, their seeded initial weights copied in, and
one SPMD program (`shard_map` over the devices, compiled once for all of them: a
program per device compiled the same code twice) trains a span of epochs of every
device's block with no Python in between. Spans exist
so that progress and live views can be reported between them; the state carries
over exactly, so a run's numbers do not depend on the spans, nor on which runs share
its block (elementwise arithmetic, lanes padded to full vectors; tested). Watched by a
live view, every piece is built first and all train one epoch at a time in lockstep.

Arrays, runs innermost: train x (E, N, R), y (E, R); a layer's weight (O, I, R).
"""

from __future__ import annotations

import atexit
import math
import os
import queue
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, Sequence

import numba
import numpy as np

from .. import twister
from ..config import RunConfig
from ..data import EXAMPLES
from ..model import drawn_parameters, layer_shapes
from ..result import EpochSnapshot, RunResult
from . import plan

NP_DTYPES = {"float32": np.float32, "float64": np.float64}
# Progress is reported after spans of about this many run-epochs (~0.1-0.5 s of work).
PROGRESS_RUN_EPOCHS = 4096
# Histories hold at most this many epochs: longer budgets train in several calls.
MAX_SPAN = 128
# XLA:CPU runs each op of a while loop's body as its own thunk (a dispatch per op per
# step) unless the loop is "small"; this threshold makes every training loop small,
# so it compiles into one kernel (benchmarks/README.md: ~5x at 1,000 runs).
HOIST_FLAG = "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000000"
# Per compile, so a notebook's own programs keep XLA's defaults: XLA:CPU's YNNPACK
# fusions made a training step ~15x slower at 1,024 lanes (0.09 against 1.5 s an
# epoch, side by side), so the elementwise loops are left to XLA's own emitter.
COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "", "xla_cpu_experimental_xnn_fusion_type": ""}
# (setting, span, lanes, device ids) -> the executable, as a future: `ahead` compiles
# a call's later programs on background threads while its earlier pieces train (XLA
# compiles without the GIL), and `compiled` waits for one that is under way.
_COMPILED: dict[tuple, Future] = {}
_COMPILED_LOCK = threading.Lock()  # pieces train on two threads at once (`LocalExecutor`)
# numba's workqueue threading layer (where neither OpenMP nor TBB is installed) aborts
# on parallel functions called from two threads at once: a block's decode takes turns.
_DECODE_LOCK = threading.Lock()


class Compiler:
    """Compiles queued programs in order on background threads. At exit what is
    still queued is dropped and what is compiling is waited for (a thread inside
    XLA when the interpreter shuts down aborts the process): a process that stops
    early does not wait for the queue."""

    def __init__(self, threads: int):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.closing = False
        self.threads = [threading.Thread(target=self.work, name=f"xorlab-compile-{k}", daemon=True)
                        for k in range(threads)]
        for t in self.threads:
            t.start()
        atexit.register(self.close)

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        self.queue.put((future, fn, args))
        return future

    def work(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            future, fn, args = item
            if self.closing:
                future.cancel()
            if not future.set_running_or_notify_cancel():  # cancelled while queued
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # handed to whoever waits for the program
                future.set_exception(e)

    def close(self) -> None:
        """Drop what is queued, let the compiles under way end, stop the threads."""
        self.closing = True
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()


_AHEAD: Compiler | None = None


def configure_process(devices: int | None = None) -> bool:
    """Settings only a program that owns its process makes (the CLI, the test suite,
    the benchmarks; never an import, so a notebook keeps its own): one XLA CPU device
    per core, so lane blocks train on every core; XLA's small-while-loop hoisting, so
    a training loop compiles into one kernel instead of a dispatch per op and step
    (XLA reads both from XLA_FLAGS when JAX starts, for the whole process); and the
    persistent compilation cache, so no program is compiled twice across processes.
    Returns False (and changes nothing) once JAX is imported: too late for its flags."""
    if "jax" in sys.modules:
        return False
    if devices is None:
        devices = cores()
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_small_while_loop_byte_threshold" not in flags:
        flags += f" {HOIST_FLAG}"
    if "xla_force_host_platform_device_count" not in flags:
        flags += f" --xla_force_host_platform_device_count={devices}"
    os.environ["XLA_FLAGS"] = flags.strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache_dir()))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    return True


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cache_dir() -> Path:
    """Compiled programs, in the user's cache folder (e.g. ~/.cache/xorlab/jax on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("xorlab")) / "jax"


def x64(dtype: str):
    """float64 programs trace and run with JAX's 64-bit mode on, only inside this scope."""
    import jax

    return jax.enable_x64(dtype == "float64")


def span_of(epochs: int, watched: bool) -> int:
    """History length of the program: 1 epoch when a live view watches each one,
    else the budget rounded up to a power of two (few programs), at most MAX_SPAN."""
    if watched:
        return 1
    return min(MAX_SPAN, 1 << (epochs - 1).bit_length())


def lanes_spec(a):
    """Runs innermost: a per-run array is split over the devices along its last axis."""
    from jax.sharding import PartitionSpec

    return PartitionSpec(*[None] * (np.ndim(a) - 1), "lanes")


def arg_specs(args: tuple) -> tuple:
    """The program's arguments (params, state, t, 4 data arrays, hyper, table, count):
    per-run trees split by lanes; the step count, Adam's table and `count` whole."""
    import jax
    from jax.sharding import PartitionSpec

    whole = PartitionSpec()
    per_run = lambda tree: jax.tree.map(lanes_spec, tree)
    params, state, _, *data, hyper, _, _ = args
    return (per_run(params), per_run(state), whole, *per_run(tuple(data)), per_run(hyper), whole, whole)


def program_key(setting, span: int, lanes: int, mesh) -> tuple:
    """What a compiled program is specialised to; lanes: of the whole mesh."""
    return (setting, span, lanes, tuple(d.id for d in mesh.devices.flat))


def compile_program(setting, span: int, args: tuple, mesh) -> Callable:
    """The setting's program for these arguments (arrays, or their shapes and
    placements), compiled once for all the mesh's devices: one SPMD program whose
    copies train each device's lanes (the arithmetic never crosses lanes, so no
    device talks to another)."""
    import jax
    from jax.sharding import PartitionSpec

    from . import program

    specs = arg_specs(args)
    history = (PartitionSpec(None, None, "lanes"), PartitionSpec(None, "lanes"), PartitionSpec(None, "lanes"))
    train = program.make_train(setting, span, plan.TEST_BATCH)
    fn = jax.jit(jax.shard_map(train, mesh=mesh, in_specs=specs, out_specs=(*specs[:3], history),
                               check_vma=False))  # the histories start whole, then fill per lane
    with x64(setting.dtype):
        return fn.lower(*args).compile(compiler_options=COMPILER_OPTIONS)


def compiled(setting, span: int, args: tuple, mesh) -> Callable:
    """The program for a block's arguments: compiled already or under way (`ahead`),
    or compiled now, in this thread (also when it waits in `ahead`'s queue: the
    background thread meanwhile compiles the next, so two compile at once)."""
    key = program_key(setting, span, args[3].shape[-1], mesh)
    with _COMPILED_LOCK:
        future = _COMPILED.get(key)
        mine = future is None or future.cancel()
        if mine:
            future = _COMPILED[key] = Future()
            future.set_running_or_notify_cancel()
    if mine:
        try:
            future.set_result(compile_program(setting, span, args, mesh))
        except BaseException as e:  # not kept: a later call compiles again
            with _COMPILED_LOCK:
                _COMPILED.pop(key, None)
            future.set_exception(e)
            raise
    return future.result()


def abstract_args(setting, lanes: int, mesh) -> tuple:
    """The shapes, precisions and placements of the arguments `Block.args` passes for
    `lanes` lanes (of the whole mesh), without data: what compiling ahead needs."""
    import jax
    from jax.sharding import NamedSharding

    from . import program

    dtype = NP_DTYPES[setting.dtype]
    r, n = lanes, setting.inputs
    widths = [n] + [setting.hidden] * setting.layers + [1]
    params = tuple((np.empty((o, i, r), dtype), np.empty((o, r), dtype)) for i, o in zip(widths, widths[1:]))
    data = (np.empty((plan.TRAIN_EXAMPLES, n, r), dtype), np.empty((plan.TRAIN_EXAMPLES, r), dtype),
            np.empty((plan.TEST_EXAMPLES, n, r), dtype), np.empty((plan.TEST_EXAMPLES, r), dtype))
    hyper = tuple(np.empty(r, dtype) for _ in range(3))
    args = (params, program.initial_state(setting, params), np.int32(0), *data, hyper,
            program.adam_table(np.dtype(dtype), setting.optimizer), np.int32(0))
    shape = lambda a, spec: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype, sharding=NamedSharding(mesh, spec))
    placed = jax.tree.map(shape, args[:-1], arg_specs(args)[:-1], is_leaf=lambda x: isinstance(x, np.ndarray))
    return (*placed, jax.ShapeDtypeStruct((), np.int32))


def programs(configs: Sequence[RunConfig], watched: bool = False, device: int = 0) -> list[tuple]:
    """The programs a piece of these configs trains with, each once, in order:
    (setting, span, lanes of the whole mesh, mesh), as `Piece` lays its blocks out."""
    import jax

    devices = jax.devices("cpu")
    setting, span = plan.setting(configs[0]), span_of(configs[0].epochs, watched)
    shapes = dict.fromkeys((len(group), block_lanes(group))
                           for group in plan.device_groups(len(configs), len(devices)))
    return [(setting, span, used * lanes, mesh_of(devices_for(devices, used, device))) for used, lanes in shapes]


def devices_for(devices: Sequence, used: int, device: int) -> Sequence:
    """The devices a group of `used` blocks trains on: all of them from the first for a
    group as wide as the machine, else `used` of them from `device` on (a piece of
    one block can train on any core: `LocalExecutor` trains two such at once)."""
    if used >= len(devices):
        return devices[:used]
    first = device % len(devices)
    return [devices[(first + k) % len(devices)] for k in range(used)]


def compiling() -> bool:
    """Whether a program is being compiled or waits to be (`ahead`'s queue, or a call
    compiling its own): then a core is better left to the compiles than given to a
    second piece (`LocalExecutor`)."""
    with _COMPILED_LOCK:
        return any(not future.done() for future in _COMPILED.values())


def device_count() -> int:
    import jax

    return len(jax.devices("cpu"))


def narrow(configs: Sequence[RunConfig]) -> bool:
    """Every planned piece of these configs is one lane block, on one device: such
    calls can train side by side, one per core."""
    try:
        parts = plan.plan(configs)
    except (ValueError, TypeError):
        return False
    return all(len(part) <= plan.MIN_LANES for part in parts)


def block_lanes(group: Sequence[Sequence[int]]) -> int:
    """Lanes per device of a device group's block: its largest part's, padded."""
    return max(plan.padded_lanes(len(part)) for part in group)


def mesh_of(devices: Sequence) -> object:
    """One axis, `lanes`, over these devices: a block's lanes split among them."""
    import jax

    return jax.sharding.Mesh(np.array(devices), ("lanes",))


def ahead(wanted: Sequence[tuple]) -> list[tuple[tuple, Future]]:
    """Start compiling, in order on background threads, the programs (as `programs`
    gives them) that are neither compiled nor under way, so that a piece's program
    is ready (or nearly) when the pieces before it have trained. Returns what it
    queued (for `cancel`)."""
    global _AHEAD
    queued = []
    for setting, span, lanes, mesh in wanted:
        key = program_key(setting, span, lanes, mesh)
        with _COMPILED_LOCK:
            if key in _COMPILED:
                continue
            if _AHEAD is None:  # a thread per core (at most 4): compiles leave the GIL
                _AHEAD = Compiler(min(4, cores()))
            _COMPILED[key] = _AHEAD.submit(compile_program, setting, span, abstract_args(setting, lanes, mesh), mesh)
            queued.append((key, _COMPILED[key]))
    return queued


def prepare(chunks: Sequence[Sequence[RunConfig]], devices: Sequence[int] | None = None) -> list[tuple[tuple, Future]]:
    """`ahead` for chunks that will be trained one `run_many` call each, in order (a
    store's or a sweep's pieces; devices: each call's `device`, 0 by default): their
    programs, bar the first chunk's, compile while the chunks before them train.
    Chunks that cannot be planned are left to `run_many` to refuse. Returns what it
    queued (for `cancel`)."""
    wanted: list[tuple] = []
    for k, chunk in enumerate(chunks):
        try:
            parts = plan.plan(chunk)
        except (ValueError, TypeError):
            continue
        for part in parts:
            wanted += programs([chunk[i] for i in part], device=devices[k] if devices else 0) if k else []
    return ahead(wanted)


def cancel(queued: Sequence[tuple[tuple, Future]]) -> None:
    """Drop the programs `ahead` queued that have not started compiling (a call that
    stops early, e.g. interrupted, leaves no queue behind to wait for at exit)."""
    with _COMPILED_LOCK:
        for key, future in queued:
            if future.cancel() and _COMPILED.get(key) is future:
                del _COMPILED[key]


class Block:
    """One lane block per device, trained by one program: its runs (padded), state
    and history; lanes run d * L .. (d + 1) * L - 1 live on device d."""

    def __init__(self, configs: Sequence[RunConfig], mesh, span: int):
        import jax
        from jax.sharding import NamedSharding

        from . import program

        self.configs = list(configs)
        first = configs[0]
        self.setting = plan.setting(first)
        self.span = span
        self.mesh = mesh
        dtype = NP_DTYPES[first.dtype]
        data = block_data(self.configs, dtype)
        params = initial_params(self.configs, dtype)
        hyper = tuple(np.array([[c.lr, c.momentum, c.weight_decay] for c in self.configs], dtype).T)  # (3, R)
        state = program.initial_state(self.setting, params)
        table = program.adam_table(np.dtype(dtype), self.setting.optimizer)
        args = (params, state, np.int32(0), *data, hyper, table, np.int32(0))
        placed = jax.tree.map(lambda a, spec: jax.device_put(a, NamedSharding(mesh, spec)), args[:-1],
                              arg_specs(args)[:-1], is_leaf=lambda x: isinstance(x, np.ndarray))
        self.params, self.state, self.t, *data, self.hyper, self.table = placed
        self.data = tuple(data)
        self.history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._by_run: tuple = (-1,)  # (len(history) it was made for, *by_run()): see by_run

    def args(self, count: int) -> tuple:
        return (self.params, self.state, self.t, *self.data, self.hyper, self.table, np.int32(count))

    def start(self, count: int) -> None:
        """Dispatch the next `count` epochs (asynchronously: `finish` collects them)."""
        fn = compiled(self.setting, self.span, self.args(count), self.mesh)
        self.params, self.state, self.t, self._pending = fn(*self.args(count))
        self._count = count

    def finish(self) -> None:
        h_train, h_test, h_correct = (np.asarray(a)[: self._count] for a in self._pending)
        self.history.append((h_train, h_test, h_correct))
        self.host_params = [(np.asarray(w), np.asarray(b)) for w, b in self.params]

    def by_run(self) -> tuple:
        """The histories and parameters so far with runs first, in the results' types:
        train (R, E, L) and test (R, E) float64, correct (R, E) int64, params by name
        (R, ...); made once per history (one transpose per block, not a copy per run),
        so a run's arrays are contiguous slices of these."""
        if self._by_run[0] != len(self.history):
            train, test, correct = (np.concatenate([h[j] for h in self.history]) for j in range(3))
            params = {}
            for k, (w, b) in enumerate(self.host_params, start=1):
                params[f"dense{k}.weight"] = np.ascontiguousarray(np.moveaxis(w, -1, 0))
                params[f"dense{k}.bias"] = np.ascontiguousarray(np.moveaxis(b, -1, 0))
            self._by_run = (len(self.history), np.ascontiguousarray(np.moveaxis(train, -1, 0), np.float64),
                            np.ascontiguousarray(test.T, np.float64), np.ascontiguousarray(correct.T, np.int64), params)
        return self._by_run[1:]

    def run_params(self, lane: int) -> dict[str, np.ndarray]:
        """The run in `lane`: its current parameters, copied, named as RunResult.params."""
        out = {}
        for k, (w, b) in enumerate(self.host_params, start=1):
            out[f"dense{k}.weight"] = w[..., lane].copy()
            out[f"dense{k}.bias"] = b[..., lane].copy()
        return out


def block_data(configs: Sequence[RunConfig], dtype) -> tuple[np.ndarray, ...]:
    """The runs' training and test examples, runs innermost in the run's precision:
    train x (5000, N, R), y (5000, R); test x (500, N, R), y (500, R). Decoded straight
    into the lanes (both cores), runs sharing centring and noise in one call, each seed
    once."""
    r, n = len(configs), configs[0].inputs
    start, cut = plan.SKIPPED_EXAMPLES, plan.SKIPPED_EXAMPLES + plan.TRAIN_EXAMPLES
    x = np.empty((EXAMPLES - start, n, r), dtype)  # (E, N, R)
    y = np.empty((EXAMPLES - start, r), dtype)  # (E, R)
    kinds: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        kinds.setdefault((c.center, c.noise), []).append(i)
    for (center, noise), lanes in kinds.items():
        first: dict[int, int] = {}  # each seed decoded once: padding lanes repeat a run
        for i in lanes:
            first.setdefault(configs[i].seed, i)
        own = list(first.values())
        keys = twister.seed_keys([configs[i].seed for i in own])
        with _DECODE_LOCK:
            twister.decode_lanes(keys, np.array(own, np.int64), n, center, float(noise), start, x, y,
                                 numba.get_num_threads())
        for a, b, source in repeats([first[configs[i].seed] for i in lanes], lanes):
            x[:, :, a:b] = x[:, :, source, None]
            y[:, a:b] = y[:, source, None]
    return x[: cut - start], y[: cut - start], x[cut - start:], y[cut - start:]


def repeats(sources: Sequence[int], lanes: Sequence[int]) -> list[tuple[int, int, int]]:
    """Lanes that repeat another lane's run (a block's padding: copies of its last run),
    as (first, stop, source) slices of consecutive lanes with one source: broadcast
    copies, not a gather per lane."""
    out: list[tuple[int, int, int]] = []
    for lane, source in zip(lanes, sources):
        if lane == source:
            continue
        if out and out[-1][1] == lane and out[-1][2] == source:
            out[-1] = (out[-1][0], lane + 1, source)
        else:
            out.append((lane, lane + 1, source))
    return out


def initial_params(configs: Sequence[RunConfig], dtype) -> tuple:
    """Each layer's (weight (O, I, R), bias (O, R)), from the runs' seeded parameters
    (drawn once per distinct run: padding lanes repeat one), in the runs' precision."""
    rows: dict[RunConfig, int] = {}
    for c in configs:
        rows.setdefault(c, len(rows))
    drawn = drawn_parameters(list(rows))  # (U, P) float32, named_parameters order
    lanes = drawn[[rows[c] for c in configs]].T.astype(dtype, order="C")  # (P, R)
    c, out, at = configs[0], [], 0
    for _, fan_in, fan_out in layer_shapes(c.inputs, c.hidden, c.layers):
        weight = lanes[at:at + fan_in * fan_out].reshape(fan_out, fan_in, -1)
        at += fan_in * fan_out
        out.append((weight, lanes[at:at + fan_out]))
        at += fan_out
    return tuple(out)


class Piece:
    """One planned piece: its runs in lane blocks over the devices, trained span by span."""

    def __init__(self, configs: Sequence[RunConfig], watched: bool = False, device: int = 0):
        import jax

        if any(c.seed is None for c in configs):
            raise ValueError("the jax engine needs a seed for every run")
        if len({plan.group_key(c) for c in configs}) != 1:
            raise ValueError("a piece must share one setting and epoch budget (see plan.py)")
        self.configs = list(configs)
        self.epochs = configs[0].epochs
        self.span = span_of(self.epochs, watched)
        devices = jax.devices("cpu")
        self.where: list[tuple[int, int]] = []  # run i -> (block, lane)
        self.layout: list[tuple[list[RunConfig], object]] = []  # each block's runs (padded) and devices
        meshes = {}
        for k, group in enumerate(plan.device_groups(len(configs), len(devices))):
            # as many devices as blocks: a piece of <= 32 runs leaves the other cores to compiles ahead
            # or to another such piece (`LocalExecutor` trains two at once)
            mesh = meshes.setdefault(len(group), mesh_of(devices_for(devices, len(group), device)))
            lanes = block_lanes(group)
            members: list[RunConfig] = []
            for d, part in enumerate(group):
                self.where += [(k, d * lanes + lane) for lane in range(len(part))]
                runs = [configs[i] for i in part]
                members += runs + [runs[-1]] * (lanes - len(runs))  # padding: copies of the last run
            self.layout.append((members, mesh))
        self.blocks: list[Block] = []  # built by the first `train` (or `build`)
        self.done = 0

    def build(self) -> None:
        """Make every block's data, initial weights and state now (else the first
        `train` makes them, each block as the ones before it train)."""
        with x64(self.configs[0].dtype):
            for members, mesh in self.layout[len(self.blocks):]:
                self.blocks.append(Block(members, mesh, self.span))

    def train(self, epochs: int) -> None:
        """The next `epochs` epochs of every block (no more than the budget). The first
        call builds the blocks, each one dispatched as soon as it is built, so the next
        block's data and initial weights are made while the ones before it train."""
        count = min(epochs, self.span, self.epochs - self.done)
        with x64(self.configs[0].dtype):
            for b in self.blocks:
                b.start(count)
            for members, mesh in self.layout[len(self.blocks):]:
                self.blocks.append(Block(members, mesh, self.span))
                self.blocks[-1].start(count)
            for b in self.blocks:
                b.finish()
        self.done += count

    def result(self, i: int) -> RunResult:
        k, lane = self.where[i]
        train, test, correct, params = self.blocks[k].by_run()
        return RunResult(config=self.configs[i], train_loss=train[lane], test_loss=test[lane],
                         test_correct=correct[lane], params={name: a[lane] for name, a in params.items()},
                         engine="jax")

    def snapshot(self, indices: Sequence[int]) -> EpochSnapshot:
        """Every run's state after the epochs done; indices: the runs' positions in the
        caller's list, in this piece's order."""
        last = [self.blocks[k].history[-1] for k, _ in self.where]
        return EpochSnapshot(
            epoch=self.done, indices=tuple(indices),
            test_loss=np.array([h[1][-1, lane] for h, (_, lane) in zip(last, self.where)], dtype=np.float64),
            test_correct=np.array([h[2][-1, lane] for h, (_, lane) in zip(last, self.where)], dtype=np.int64),
            params=tuple(self.blocks[k].run_params(lane) for k, lane in self.where))


def span(piece: Piece, on_progress) -> int:
    """Epochs per call: all at once unless progress is reported (a live view trains
    one epoch at a time: `train_lockstep`)."""
    if on_progress is not None:
        return max(1, math.ceil(PROGRESS_RUN_EPOCHS / len(piece.configs)))
    return piece.epochs


def train_piece(piece: Piece, on_progress: Callable[[float], None] | None = None) -> list[RunResult]:
    """Train one planned piece, unwatched; results in its order."""
    step = span(piece, on_progress)
    while piece.done < piece.epochs:
        before = piece.done
        piece.train(step)
        if on_progress is not None:
            on_progress(len(piece.configs) * (piece.done - before) / piece.epochs)
    return [piece.result(i) for i in range(len(piece.configs))]


def train_runs(configs: Sequence[RunConfig], on_progress: Callable[[float], None] | None = None,
               on_epoch: Callable[[EpochSnapshot], None] | None = None, device: int = 0) -> list[RunResult]:
    """Train every config, piece by piece as planned; results in the order given.
    Watched (on_epoch given), the pieces train in lockstep instead (`train_lockstep`).
    A piece of one lane block trains on `device` (see `devices_for`)."""
    if on_epoch is not None:
        return train_lockstep(configs, on_epoch, on_progress)
    results: list[RunResult | None] = [None] * len(configs)
    parts = plan.plan(configs)
    # the first piece's programs compile now, in this thread; the others' meanwhile
    queued = ahead([w for part in parts[1:] for w in programs([configs[i] for i in part], device=device)])
    try:
        for part in parts:
            for i, r in zip(part, train_piece(Piece([configs[i] for i in part], device=device), on_progress)):
                results[i] = r
    finally:
        cancel(queued)
    return results  # type: ignore[return-value]


def train_lockstep(configs: Sequence[RunConfig], on_epoch: Callable[[EpochSnapshot], None],
                   on_progress: Callable[[float], None] | None = None) -> list[RunResult]:
    """Every planned piece built at once and trained one epoch at a time, side by side,
    so that a live view sees all runs advance together (the playground's comparison:
    setting A and setting B are different pieces). on_epoch is called once per epoch
    with one snapshot of every run that trained it; a piece whose budget is spent drops
    out. A run's numbers are those of unwatched training (the state carries over exactly
    between spans; tested)."""
    pieces = [(part, Piece([configs[i] for i in part], watched=True)) for part in plan.plan(configs)]
    # the later pieces' programs (a comparison's B) compile while the first's does
    queued = ahead([w for part, _ in pieces[1:] for w in programs([configs[i] for i in part], watched=True)])
    try:
        for _ in range(max((p.epochs for _, p in pieces), default=0)):
            live = [(part, p) for part, p in pieces if p.done < p.epochs]
            for part, p in live:
                p.train(1)
                if on_progress is not None:
                    on_progress(len(part) / p.epochs)
            on_epoch(merge([p.snapshot(part) for part, p in live]))
    finally:
        cancel(queued)
    results: list[RunResult | None] = [None] * len(configs)
    for part, p in pieces:
        for k, i in enumerate(part):
            results[i] = p.result(k)
    return results  # type: ignore[return-value]


def merge(snaps: Sequence[EpochSnapshot]) -> EpochSnapshot:
    """One snapshot of the same epoch's runs from several pieces, in the order given."""
    return EpochSnapshot(epoch=snaps[0].epoch, indices=tuple(i for s in snaps for i in s.indices),
                         test_loss=np.concatenate([s.test_loss for s in snaps]),
                         test_correct=np.concatenate([s.test_correct for s in snaps]),
                         params=tuple(p for s in snaps for p in s.params))
