"""The planner: which runs train together, how many at once, and whether they fit.

`plan(configs)` cuts a list of configs into pieces (lists of indices). Each piece is
trainable on its own by `run_many`, holds runs that share one compiled program (a
`Setting`: network shape, activation, optimizer, batch size, precision) and an epoch
budget, and fits the memory budget by `piece_bytes`, the one memory model: it counts
what the jax engine allocates for a piece (its lane blocks padded to full blocks, the
data in the run's precision, parameters, gradients and optimizer state, the histories
and the results handed back). Store, sweep and study iterate these pieces, committing
or writing each before the next; a cluster executor can send each piece as one task.
Pieces are deterministic (the same configs give the same pieces) and a piece planned
again is one piece. Within a piece, `lane_blocks` splits the runs over the devices,
`device_groups` deals the blocks to them (one program trains a group, a block per
device) and `padded_lanes` rounds a block to a size the program is compiled for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from ..config import BATCH_SIZE, SAMPLE_BATCHES, TEST_BATCHES, TRAIN_EXAMPLES, ConfigError, RunConfig, \
    available_memory_bytes, logged_batches

# Bounds checked before anything is built: one command's runs (a million configs are
# about a gigabyte of Python objects and an hour of training), and an experiment's
# seeds per setting (a study multiplies them by a few dozen settings).
MAX_RUNS = 1_000_000
MAX_SEEDS = 100_000
DEFAULT_BUDGET = 256 << 20  # bytes per piece: big enough to fill both cores, small enough to commit often
DEFAULT_MAX_RUNS = 4096  # runs per piece: an interrupted study loses at most one piece (seconds)
# Lanes of a block: 32, 64 or MAX_LANES, the fewest that hold its runs; all whole
# AVX-512 vectors (16 float32, 8 float64: no scalar remainder whose rounding could
# differ), so a setting compiles for a few block sizes, not one per run count. A
# block's time grows about with its lanes, padding included (20 epochs of parity's
# screening pieces of 20 runs, one device, side by side: 32 lanes took 0.35-0.6x the
# time of 64), so few runs get a narrow block; 16 is not used: the tutorial's 2-2-1
# sigmoid net was 3-4x slower per run at 16 lanes than at 32. MAX_LANES is small and
# not a power of two: a block's working set stays in the L1/L2 caches, and its rows
# are not 4 KiB apart (1,024 float32 lanes put every row of an array in the same cache
# sets: 1.7-2.5x slower per run than 96 lanes, measured side by side for the tutorial,
# Adam, float64, two layers and parity's 5-8 nets; benchmarks/README.md).
MIN_LANES = 32
MAX_LANES = 96
# The widest network the engine takes, in weights per run: its lanes make one run cost
# as much as MIN_LANES, which for the tutorial's nets is free (SIMD) but for a
# 100,000-unit layer is minutes per epoch; the classic loop trains those.
MAX_WEIGHTS = 10_000
TEST_EXAMPLES = TEST_BATCHES * BATCH_SIZE  # 500: the tutorial's 50 test batches of 10, whatever B is
TEST_BATCH = BATCH_SIZE
SKIPPED_EXAMPLES = SAMPLE_BATCHES * BATCH_SIZE  # the sample batches the tutorial prints first


@dataclass(frozen=True)
class Setting:
    """What one compiled program is specialised to; the rest of a config is per-run data."""

    inputs: int
    hidden: int
    layers: int
    activation: str
    optimizer: str
    batch_size: int
    dtype: str


def setting(c: RunConfig) -> Setting:
    """What the compiled program is specialised to (the rest of a config is per-run data)."""
    return Setting(c.inputs, c.hidden, c.layers, c.activation, c.optimizer, c.batch_size, c.dtype)


def group_key(c: RunConfig) -> tuple:
    """Runs that can share a piece: one program and one epoch budget."""
    return (setting(c), c.epochs)



def itemsize(c: RunConfig) -> int:
    return 4 if c.dtype == "float32" else 8


def weights(c: RunConfig) -> int:
    """Parameters per run: dense1 (H, N), dense2..dense{layers} (H, H), the output (1, H), biases."""
    return c.hidden * (c.inputs + 1) + (c.layers - 1) * c.hidden * (c.hidden + 1) + c.hidden + 1


def logged(c: RunConfig) -> int:
    """Train losses logged per epoch: batches 0, 100, 200, ... of ceil(5000 / B)."""
    return len(logged_batches(c))


def lane_bytes(c: RunConfig) -> int:
    """What one lane holds for the whole piece: its data and the activations of a batch
    in the run's precision; parameters, gradients and optimizer state (Adam: two
    moments); the history, and the float64 copies a RunResult keeps."""
    size = itemsize(c)
    data = (TRAIN_EXAMPLES + TEST_EXAMPLES) * (c.inputs + 1) * size
    work = 4 * max(c.batch_size, TEST_EXAMPLES) * (c.inputs + c.layers * c.hidden + 1) * size
    state = (3 + (2 if c.optimizer == "adam" else 1)) * weights(c) * size
    history = c.epochs * ((logged(c) + 1) * (size + 8) + 16)
    return data + work + state + history


def piece_bytes(configs: Sequence[RunConfig], devices: int = 1) -> int:
    """The memory model: bytes that training these configs as one piece allocates,
    its blocks padded to their lanes."""
    widest = max(configs, key=lane_bytes)
    groups = device_groups(len(configs), devices)
    lanes = sum(len(group) * max(padded_lanes(len(b)) for b in group) for group in groups)
    return lanes * lane_bytes(widest)


def check_width(c: RunConfig) -> None:
    """Refuse a network too wide for the engine's lane blocks (MAX_WEIGHTS)."""
    if weights(c) > MAX_WEIGHTS:
        field = "hidden" if c.hidden >= c.inputs else "inputs"
        raise ConfigError(field, f"inputs={c.inputs}, hidden={c.hidden}, layers={c.layers} is too wide for the "
                                 f"jax engine (at most {MAX_WEIGHTS:,} weights per run); use --engine classic")


def check_fits(c: RunConfig, runs: int = 1, lanes: int = MIN_LANES) -> None:
    """Refuse, before anything is allocated, a run (or `runs` of it, `lanes` at a time;
    1: one at a time, as the classic loop trains) that cannot fit in the memory
    available now; name the setting that makes it big. The jax engine holds a whole
    block (MIN_LANES lanes) even for one run, so it asks for `runs` = MIN_LANES."""
    need = min(max(1, runs), lanes) * lane_bytes(c)
    have = available_memory_bytes()
    if need > have:
        alone = lane_bytes(c) <= have  # one at a time it would fit: say how
        hint = (f"; the jax engine trains {min(max(1, runs), lanes)} runs' worth at once, "
                f"--engine classic one at a time" if alone and lanes > 1 and runs > 1 else "")
        small = c.replace(epochs=1)
        field = "epochs" if lane_bytes(small) * 4 < lane_bytes(c) else (
            "inputs" if c.inputs * 4 >= c.hidden else "hidden")
        raise ConfigError(
            field,
            f"epochs={c.epochs}, inputs={c.inputs}, hidden={c.hidden}, layers={c.layers} needs about {need / 2**30:.1f} GiB, "
            f"more than the {have / 2**30:.1f} GiB available{hint}",
        )


def check_fits_in_memory(c: RunConfig, runs: int = 1) -> None:
    """Refuse sizes that cannot fit, before allocating anything: the memory model for
    `runs` runs trained one at a time (the classic loop)."""
    check_fits(c, runs, lanes=1)


def plan(configs: Sequence[RunConfig], budget: int = DEFAULT_BUDGET, max_runs: int = DEFAULT_MAX_RUNS,
         engine: str = "jax") -> list[list[int]]:
    """Indices of configs cut into pieces that train independently (see the module doc).

    Runs are ordered by group, groups in the order they first appear and runs in the
    given order within each; a piece grows while
    it stays within `budget` bytes (`fitting`) and `max_runs` runs (a piece always
    takes at least one run). Raises ConfigError if a single run cannot fit in the memory available,
    or (engine "jax") a network is too wide for it.
    """
    if max_runs < 1:
        raise ValueError("max_runs must be at least 1")
    first: dict[tuple, int] = {}  # groups in the order they first appear (a sweep's grid order)
    for i, c in enumerate(configs):
        first.setdefault(group_key(c), i)
    order = sorted(range(len(configs)), key=lambda i: first[group_key(configs[i])])
    pieces: list[list[int]] = []
    for i in order:
        c = configs[i]
        if not pieces or group_key(configs[pieces[-1][0]]) != group_key(c):
            check_fits(c, MIN_LANES if engine == "jax" else 1)  # a jax block is MIN_LANES lanes, even for one run
            if engine == "jax":
                check_width(c)
            pieces.append([i])
        elif len(pieces[-1]) < min(max_runs, fitting(c, budget)):
            pieces[-1].append(i)
        else:
            pieces.append([i])
    return pieces


def fitting(c: RunConfig, budget: int) -> int:
    """Runs of c a piece takes within `budget` bytes, rounded down to a power of two:
    a handful of piece sizes, so a handful of programs."""
    runs = max(1, budget // lane_bytes(c))
    return 1 << (runs.bit_length() - 1)


def lane_blocks(runs: int, devices: int = 1) -> list[list[int]]:
    """A piece's runs (0..runs-1) cut into contiguous blocks of at most MAX_LANES, as
    even as can be, one or more per device when there are enough to fill them."""
    count = math.ceil(runs / MAX_LANES)
    if runs > MIN_LANES:
        count = math.ceil(count / devices) * devices
    count = min(count, runs)
    size, extra = divmod(runs, count)
    cuts = [k * size + min(k, extra) for k in range(count + 1)]
    return [list(range(cuts[k], cuts[k + 1])) for k in range(count)]


def device_groups(runs: int, devices: int = 1) -> list[list[list[int]]]:
    """lane_blocks dealt to the devices, `devices` blocks at a time: each group trains
    in one program, its blocks side by side, one per device (a piece of few runs is
    one block: a group of one, on one device)."""
    blocks = lane_blocks(runs, devices)
    return [blocks[k:k + devices] for k in range(0, len(blocks), devices)]


def padded_lanes(runs: int) -> int:
    """The lanes a block of `runs` (at most MAX_LANES) is compiled for."""
    return next(lanes for lanes in (MIN_LANES, 2 * MIN_LANES, MAX_LANES) if runs <= lanes)
