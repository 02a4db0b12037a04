"""The planner: which runs train together, how many at once, and whether they fit.

`plan(configs)` cuts a list of configs into pieces (lists of indices). Each piece is
trainable on its own by `run_many`, holds runs that share a precision, an epoch
budget and an input count, and fits the memory budget by `piece_bytes`, the one
memory model: it counts what the fused engine allocates for a piece (its lane blocks
padded to full blocks, the data in the run's precision, the per-epoch history, the
per-thread work arrays and the results handed back). Store, sweep and study iterate
these pieces, committing or writing each before the next; a cluster executor can
send each piece as one task. Pieces are deterministic (the same configs give the same
pieces) and a piece planned again is one piece.

Within a piece, runs that share an activation and a network shape fill lane blocks of
`kernels.LANES` runs; the last block of each kind is padded with copies of its last run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

from ..config import BATCH_SIZE, TEST_BATCHES, TRAIN_BATCHES, ConfigError, RunConfig, available_memory_bytes
from ..data import EXAMPLES
from .kernels import LANES

# Bounds checked before anything is built: one command's runs (a million configs are
# about a gigabyte of Python objects and an hour of training), and an experiment's
# seeds per setting (a study multiplies them by a few dozen settings).
MAX_RUNS = 1_000_000
MAX_SEEDS = 100_000
# The widest network the fused engine takes, in weights per run (H * (N + 2)): its 64
# lanes make one run cost as much as 64, which for the tutorial's nets is free (SIMD)
# but for a 100,000-unit layer is minutes per epoch; the classic loop trains those.
MAX_FUSED_WEIGHTS = 10_000
DEFAULT_BUDGET = 256 << 20  # bytes per piece: big enough to fill both cores, small enough to commit often
DEFAULT_MAX_RUNS = 4096  # runs per piece: an interrupted study loses at most one piece (seconds)
LOGGED = TRAIN_BATCHES // 100  # train losses logged per epoch (batches 0, 100, ..., 400)


def group_key(c: RunConfig) -> tuple:
    """Runs that can share a piece: one precision, one epoch budget (the kernel's loop)
    and one input count (the data arrays are not padded)."""
    return (c.dtype, c.epochs, c.inputs)


def block_key(c: RunConfig) -> tuple:
    """Runs that can share a lane block: one activation and one network shape."""
    return (c.activation, c.inputs, c.hidden)


def itemsize(c: RunConfig) -> int:
    return 4 if c.dtype == "float32" else 8


def lane_bytes(c: RunConfig) -> int:
    """What one lane of a block holds for the whole piece: its data, its history in
    the run's precision, the float64 copies a RunResult keeps, and its parameters."""
    size = itemsize(c)
    data = (TRAIN_BATCHES + TEST_BATCHES) * BATCH_SIZE * (c.inputs + 1) * size
    history = c.epochs * ((LOGGED + 1) * size + 8)  # train and test loss, correct count
    result = c.epochs * ((LOGGED + 1) * 8 + 8)
    params = 4 * (c.hidden * c.inputs + 2 * c.hidden + 1) * size
    return data + history + result + params


def thread_bytes(c: RunConfig, lanes: int = LANES) -> int:
    """Work memory of one thread: a block's activations and gradients, and one run's
    float64 stream while it is decoded."""
    work = (4 * BATCH_SIZE * c.hidden + 2 * c.hidden * (c.inputs + 3)) * lanes * itemsize(c)
    return work + EXAMPLES * (c.inputs + 1) * 8


def piece_bytes(configs: Sequence[RunConfig], threads: int | None = None, lanes: int = LANES) -> int:
    """The memory model: bytes that training these configs as one piece allocates,
    blocks of `lanes` runs padded to full blocks (lanes=1: one run at a time, as the
    classic loop trains)."""
    blocks: dict[tuple, list[RunConfig]] = defaultdict(list)
    for c in configs:
        blocks[block_key(c)].append(c)
    total = lanes_total = 0
    for members in blocks.values():
        padded = math.ceil(len(members) / lanes) * lanes
        total += padded * max(lane_bytes(c) for c in members)
        lanes_total += padded
    # Every block's parameters are padded to the piece's widest network.
    widest = max(configs, key=lambda c: c.hidden * (c.inputs + 2))
    total += lanes_total * 4 * (widest.hidden * (widest.inputs + 2) + 1) * itemsize(widest)
    threads = _threads() if threads is None else threads
    return total + threads * max(thread_bytes(c, lanes) for c in configs)


def _threads() -> int:
    import numba

    return numba.config.NUMBA_NUM_THREADS


def check_width(c: RunConfig) -> None:
    """Refuse a network too wide for the fused engine's lane blocks (MAX_FUSED_WEIGHTS)."""
    if c.hidden * (c.inputs + 2) > MAX_FUSED_WEIGHTS:
        field = "hidden" if c.hidden >= c.inputs else "inputs"
        raise ConfigError(field, f"inputs={c.inputs}, hidden={c.hidden} is too wide for the fused engine "
                                 f"(at most {MAX_FUSED_WEIGHTS:,} weights per run); use --engine classic")


def check_knobs(c: RunConfig, engine: str) -> None:
    """Refuse, for the fast engines (`fused`, `batched`), a knob beyond the tutorial's
    recipe (config.KNOB_DEFAULTS): their hand-written kernels train plain SGD on batches
    of 10, noise 0.1, one hidden layer, and would train any other setting wrongly."""
    if engine == "classic":
        return
    knobs = c.knobs()
    if knobs:
        field, value = next(iter(knobs.items()))
        raise ConfigError(field, f"{field}={value!r} is trained by the classic engine only; "
                                 f"use --engine classic (the {engine} engine trains only the tutorial's "
                                 "optimizer, batch size, noise, weight decay and depth)")


def check_fits(c: RunConfig, runs: int = 1, lanes: int = LANES) -> None:
    """Refuse, before anything is allocated, a run (or `runs` of it, in one block) that
    cannot fit in the memory available now; name the setting that makes it big."""
    need = piece_bytes([c] * max(1, runs), threads=1, lanes=lanes)
    have = available_memory_bytes()
    if need > have:
        small = c.replace(epochs=1)
        field = "epochs" if piece_bytes([small], threads=1, lanes=lanes) * 4 < need else (
            "inputs" if c.inputs * 4 >= c.hidden else "hidden")
        raise ConfigError(
            field,
            f"epochs={c.epochs}, inputs={c.inputs}, hidden={c.hidden} needs about {need / 2**30:.1f} GiB, "
            f"more than the {have / 2**30:.1f} GiB available",
        )


def plan(configs: Sequence[RunConfig], budget: int = DEFAULT_BUDGET, max_runs: int = DEFAULT_MAX_RUNS,
         engine: str = "fused") -> list[list[int]]:
    """Indices of configs cut into pieces that train independently (see the module doc).

    Runs are ordered by group, then activation and shape, keeping the given order
    within each; a piece grows block by block while it stays within `budget` bytes
    and `max_runs` runs (a piece always takes at least one block). Raises ConfigError
    if a single block cannot fit in the memory available, or (engine "fused") a
    network is too wide for it, or (engines other than "classic") a config sets a knob
    those engines do not train (`check_knobs`).
    """
    if max_runs < 1:
        raise ValueError("max_runs must be at least 1")
    for c in configs:
        check_knobs(c, engine)
    order = sorted(range(len(configs)), key=lambda i: (group_key(configs[i]), block_key(configs[i])))
    pieces: list[list[int]] = []
    piece: list[int] = []
    piece_cost = 0
    for block in _blocks(configs, order, min(LANES, max_runs)):
        c = configs[block[0]]
        check_fits(c, runs=len(block))
        if engine == "fused":
            check_width(c)
        cost = LANES * lane_bytes(c)
        same_group = piece and group_key(configs[piece[0]]) == group_key(c)
        if same_group and piece_cost + cost <= budget and len(piece) + len(block) <= max_runs:
            piece += block
            piece_cost += cost
        else:
            if piece:
                pieces.append(piece)
            piece, piece_cost = list(block), cost
    if piece:
        pieces.append(piece)
    return pieces


def _blocks(configs: Sequence[RunConfig], order: list[int], size: int = LANES) -> list[list[int]]:
    """Consecutive runs of one block key, `size` at a time (the last one may be short)."""
    blocks: list[list[int]] = []
    for i in order:
        if blocks and len(blocks[-1]) < size and block_key(configs[blocks[-1][0]]) == block_key(configs[i]) \
                and group_key(configs[blocks[-1][0]]) == group_key(configs[i]):
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


def lane_blocks(configs: Sequence[RunConfig]) -> list[list[int]]:
    """The lane blocks of one piece, as indices into it, in plan order."""
    order = sorted(range(len(configs)), key=lambda i: block_key(configs[i]))
    return _blocks(configs, order)
