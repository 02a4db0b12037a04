"""The batched engine: R independent runs trained as one computation.

Dimensions, named the same everywhere: R runs, S train batches per epoch (500),
T test batches (50), B batch size (10), N inputs, H hidden units. Runs are the
innermost (last) dimension: every operation is then elementwise across runs on
contiguous memory, which PyTorch's CPU kernels vectorise, while the tiny N, H and B
dimensions are loops around it (batched matrix products over R tiny matrices are far
slower on a CPU).

A training step is a pure function `(params, x, y, lr) -> (loss, new params)` with
the gradients of MSE written out by hand, in the order autograd computes them for
the tutorial's `nn.Module`, so the float64 trajectories agree with the one-run loop
to ~1e-14. Each run keeps its own seed, data stream, initial weights, init, centring,
learning rate, activation and network size; runs in a batch share only their epoch
budget and precision. Nothing reduces across runs, so a run that diverges fills its
own entries with NaN and touches no other, and a run's numbers are the same whichever
runs share its batch (tested bit for bit; see `padded`, `Mixed`, `sgd_step`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from ..activations import REGISTRY
from ..config import BATCH_SIZE, LOG_EVERY, TEST_BATCHES, TRAIN_BATCHES, RunConfig, check_fits_in_memory
from ..data import DECODE_CHUNK, make_data
from ..model import TORCH_DTYPES, seeded_parameters
from ..result import LOGGED_BATCHES, RunResult
from . import EpochSnapshot

RUN_ALIGN = 64  # runs per batch are padded to a multiple of this; see `padded`
MEMORY_BUDGET = 1 << 30  # bytes of run data and state per batch; larger sweeps are chunked


class Params(NamedTuple):
    """Every run's parameters, runs last (see the module docstring for why)."""

    w1: torch.Tensor  # (H, N, R)  dense1.weight
    b1: torch.Tensor  # (H, R)     dense1.bias
    w2: torch.Tensor  # (H, R)     dense2.weight (1, H), squeezed
    b2: torch.Tensor  # (R,)       dense2.bias (1,), squeezed


# Each activation and its backward in autograd's own formula (activations.py).
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {name: (a.torch_fn, a.backward) for name, a in REGISTRY.items()}


class Mixed(NamedTuple):
    """Several activations in one batch: run r uses names[k] where masks[k - 1][r]
    is True, else names[0]. Each activation is computed for every run and the run's
    own one is selected elementwise, so each run's numbers are exactly those of a
    batch of its activation alone."""

    names: tuple[str, ...]
    masks: tuple[torch.Tensor, ...]  # (R,) bool, one per names[1:]


def activate(activation, z: torch.Tensor) -> torch.Tensor:
    if isinstance(activation, str):
        return ACTIVATIONS[activation][0](z)
    a = ACTIVATIONS[activation.names[0]][0](z)
    for name, mask in zip(activation.names[1:], activation.masks):
        a = torch.where(mask, ACTIVATIONS[name][0](z), a)
    return a


def activation_grad(activation, g: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    if isinstance(activation, str):
        return ACTIVATIONS[activation][1](g, z, a)
    g_z = ACTIVATIONS[activation.names[0]][1](g, z, a)
    for name, mask in zip(activation.names[1:], activation.masks):
        g_z = torch.where(mask, ACTIVATIONS[name][1](g, z, a), g_z)
    return g_z


def forward(params: Params, x: torch.Tensor, activation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (P, N, R) -> pre-activations z (P, H, R), activations a (P, H, R), outputs (P, R)."""
    z = params.b1 + (x.unsqueeze(1) * params.w1).sum(2)  # (P, H, N, R) summed over N
    a = activate(activation, z)
    out = params.b2 + (a * params.w2).sum(1)  # (P, R)
    return z, a, out


def sgd_step(params: Params, x: torch.Tensor, y: torch.Tensor, lr: torch.Tensor,
             activation, hmask: torch.Tensor | None = None) -> tuple[torch.Tensor, Params]:
    """One SGD step on MSE for every run: x (B, N, R), y (B, R), lr (R,) -> loss (R,), new params.

    activation: a name, or a `Mixed` batch of several. hmask (H, R): for runs padded
    to a wider hidden layer, keeps their padding units' outgoing weights at zero.

    Padding is exact: a padded input is 0 and meets zero weights, a padded hidden unit
    has zero weights in and out, so they add exact zeros to every sum (the sums run
    in index order, padding last), and a run's numbers are those of its own shape.
    """
    z, a, out = forward(params, x, activation)
    diff = out - y  # (B, R)
    loss = (diff * diff).mean(0)  # (R,)
    g_out = diff * (2.0 / x.shape[0])  # mse_loss backward: 2 (out - y) / B
    g_w2 = (g_out.unsqueeze(1) * a).sum(0)  # (H, R)
    if hmask is not None:
        g_w2 = g_w2 * hmask  # act(0) is 0.5 for sigmoid: padding units would learn
    g_b2 = g_out.sum(0)  # (R,)
    g_z = activation_grad(activation, g_out.unsqueeze(1) * params.w2, z, a)  # (B, H, R)
    g_w1 = (g_z.unsqueeze(2) * x.unsqueeze(1)).sum(0)  # (H, N, R)
    g_b1 = g_z.sum(0)  # (H, R)
    step = -lr  # (R,): SGD's p.add_(grad, alpha=-lr)
    new = Params(params.w1 + step * g_w1, params.b1 + step * g_b1,
                 params.w2 + step * g_w2, params.b2 + step * g_b2)
    return loss, new


def evaluate(params: Params, x: torch.Tensor, y: torch.Tensor, activation) -> tuple[torch.Tensor, torch.Tensor]:
    """x (T, B, N, R), y (T, B, R) -> mean test-batch loss (R,), correct count (R,).

    Like the tutorial's test(): the mean over T of each batch's MSE, and a point is
    correct when round(output) == round(target) (both round half to even).
    """
    t, b, n, r = x.shape
    _, _, out = forward(params, x.reshape(t * b, n, r), activation)
    out = out.view(t, b, r)
    batch_loss = ((out - y) ** 2).mean(1)  # (T, R)
    correct = (torch.round(out) == torch.round(y)).sum((0, 1))
    return batch_loss.sum(0) / t, correct


# ----------------------------------------------------------------------------------


def _group_key(c: RunConfig) -> tuple:
    """Runs that can share one computation: the same epoch budget and precision.
    Activations may differ (see `Mixed`), and so may network shapes (see `shape_batches`)."""
    return (c.epochs, c.dtype)


def batch_activation(configs: Sequence[RunConfig]):
    """The batch's activation: its name if all runs share one, else a `Mixed`."""
    names = tuple(dict.fromkeys(c.activation for c in configs))
    if len(names) == 1:
        return names[0]
    masks = tuple(torch.tensor([c.activation == n for c in configs]) for n in names[1:])
    return Mixed(names, masks)


class RunData(NamedTuple):
    train_x: torch.Tensor  # (S, B, N, R)
    train_y: torch.Tensor  # (S, B, R)
    test_x: torch.Tensor  # (T, B, N, R)
    test_y: torch.Tensor  # (T, B, R)


def stack_data(configs: Sequence[RunConfig], dtype: torch.dtype) -> RunData:
    """Each run's own data stream (its seed, inputs, centring), runs last.

    A run with fewer inputs than the batch's widest gets zeros in the extra input
    columns (see `shape_batches`). Filled a few hundred runs at a time so the float64
    stream never exists for all runs at once.
    """
    r, n = len(configs), max(c.inputs for c in configs)
    out = RunData(
        torch.zeros((TRAIN_BATCHES, BATCH_SIZE, n, r), dtype=dtype),
        torch.empty((TRAIN_BATCHES, BATCH_SIZE, r), dtype=dtype),
        torch.zeros((TEST_BATCHES, BATCH_SIZE, n, r), dtype=dtype),
        torch.empty((TEST_BATCHES, BATCH_SIZE, r), dtype=dtype),
    )
    streams: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(configs):
        streams[(c.inputs, c.center)].append(i)
    for (inputs, center), idx in streams.items():
        for lo in range(0, len(idx), DECODE_CHUNK):
            part = idx[lo : lo + DECODE_CHUNK]
            d = make_data([configs[i].seed for i in part], inputs, center)
            cols = torch.as_tensor(part)
            # (R', S, B, N) -> (S, B, N, R'): the cast to float32 rounds as np.float32 does
            out.train_x[:, :, :inputs, cols] = torch.as_tensor(d.train_x).permute(1, 2, 3, 0).to(dtype)
            out.train_y[..., cols] = torch.as_tensor(d.train_y).permute(1, 2, 0).to(dtype)
            out.test_x[:, :, :inputs, cols] = torch.as_tensor(d.test_x).permute(1, 2, 3, 0).to(dtype)
            out.test_y[..., cols] = torch.as_tensor(d.test_y).permute(1, 2, 0).to(dtype)
    return out


def initial_params(configs: Sequence[RunConfig]) -> Params:
    """Each run's seeded initial weights, zero-padded to the batch's widest shape."""
    n, h, r = max(c.inputs for c in configs), max(c.hidden for c in configs), len(configs)
    dtype = TORCH_DTYPES[configs[0].dtype]
    p = Params(torch.zeros((h, n, r), dtype=dtype), torch.zeros((h, r), dtype=dtype),
               torch.zeros((h, r), dtype=dtype), torch.zeros(r, dtype=dtype))
    for j, c in enumerate(configs):
        q = seeded_parameters(c)
        p.w1[: c.hidden, : c.inputs, j] = q["dense1.weight"]
        p.b1[: c.hidden, j] = q["dense1.bias"]
        p.w2[: c.hidden, j] = q["dense2.weight"][0]
        p.b2[j] = q["dense2.bias"][0]
    return p


def hidden_mask(configs: Sequence[RunConfig], dtype: torch.dtype) -> torch.Tensor | None:
    """(H, R): 1 for a run's own hidden units, 0 for padding; None when nothing is padded."""
    h = max(c.hidden for c in configs)
    if all(c.hidden == h for c in configs):
        return None
    sizes = torch.tensor([c.hidden for c in configs])
    return (torch.arange(h)[:, None] < sizes).to(dtype)


def run_bytes(c: RunConfig) -> int:
    """Memory one run holds in a batch: its data and a few copies of its parameters."""
    itemsize = 4 if c.dtype == "float32" else 8
    data = (TRAIN_BATCHES + TEST_BATCHES) * BATCH_SIZE * (c.inputs + 1) * itemsize
    work = TEST_BATCHES * BATCH_SIZE * c.hidden * (c.inputs + 4) * itemsize  # evaluation temporaries
    return data + work + 16 * (c.inputs + 2) * c.hidden * itemsize


def chunk_size(c: RunConfig, budget: int | None = None) -> int:
    """How many runs of this shape to batch so that a batch stays within `budget`
    bytes (MEMORY_BUDGET by default); a multiple of RUN_ALIGN, at least RUN_ALIGN."""
    runs = (MEMORY_BUDGET if budget is None else budget) // run_bytes(c)
    return max(RUN_ALIGN, runs // RUN_ALIGN * RUN_ALIGN)


class History(NamedTuple):
    train_loss: torch.Tensor  # (epochs, 5, R)
    test_loss: torch.Tensor  # (epochs, R)
    test_correct: torch.Tensor  # (epochs, R)
    params: Params


def train_batch(configs: Sequence[RunConfig], on_epoch: Callable[[int, History], None] | None = None) -> History:
    """Train runs that share epochs and dtype as one batch, padded to the widest network.

    on_epoch(epochs_done, history so far): the history's arrays are filled up to that
    epoch and its params are the current ones (views: copy what you keep).
    """
    first = configs[0]
    if any(_group_key(c) != _group_key(first) for c in configs):
        raise ValueError("a batch must share epochs and dtype")
    if any(c.seed is None for c in configs):
        raise ValueError("the batched engine needs a seed for every run")
    dtype = TORCH_DTYPES[first.dtype]
    data = stack_data(configs, dtype)
    params = initial_params(configs)
    lr = torch.tensor([c.lr for c in configs], dtype=dtype)  # (R,)
    r, epochs, act = len(configs), first.epochs, batch_activation(configs)
    hmask = hidden_mask(configs, dtype)
    train_loss = torch.empty((epochs, len(LOGGED_BATCHES), r), dtype=dtype)
    test_loss = torch.empty((epochs, r), dtype=dtype)
    test_correct = torch.empty((epochs, r), dtype=torch.int64)
    with torch.no_grad():
        for epoch in range(epochs):
            for i in range(TRAIN_BATCHES):
                loss, params = sgd_step(params, data.train_x[i], data.train_y[i], lr, act, hmask)
                if i % LOG_EVERY == 0:
                    train_loss[epoch, i // LOG_EVERY] = loss
            test_loss[epoch], test_correct[epoch] = evaluate(params, data.test_x, data.test_y, act)
            if on_epoch is not None:
                on_epoch(epoch + 1, History(train_loss, test_loss, test_correct, params))
    return History(train_loss, test_loss, test_correct, params)


def padded(configs: Sequence[RunConfig]) -> list[RunConfig]:
    """The batch rounded up to a multiple of RUN_ALIGN runs with copies of its last run.

    PyTorch's CPU kernels compute most of a tensor with SIMD code and the last few
    elements with scalar code, whose exp/tanh can round differently. With the runs
    dimension innermost and a multiple of the vector width, every run takes the SIMD
    path wherever it sits, so its numbers do not depend on its batch companions.
    """
    extra = -len(configs) % RUN_ALIGN
    return list(configs) + [configs[-1]] * extra


def run_params(p: Params, c: RunConfig, j: int) -> dict[str, np.ndarray]:
    """Run j's own parameters (its padding cut off), copied, named as RunResult.params."""
    return {
        "dense1.weight": p.w1[: c.hidden, : c.inputs, j].numpy().copy(),
        "dense1.bias": p.b1[: c.hidden, j].numpy().copy(),
        "dense2.weight": p.w2[: c.hidden, j].numpy()[None].copy(),
        "dense2.bias": p.b2[j : j + 1].numpy().copy(),
    }


def unstack(configs: Sequence[RunConfig], h: History, engine: str) -> list[RunResult]:
    """Split a batch's history into one RunResult per run."""
    return [
        RunResult(
            config=c,
            train_loss=h.train_loss[..., j].double().numpy().copy(),
            test_loss=h.test_loss[:, j].double().numpy().copy(),
            test_correct=h.test_correct[:, j].numpy().copy(),
            params=run_params(h.params, c, j),
            engine=engine,
        )
        for j, c in enumerate(configs)
    ]


def snapshot(configs: Sequence[RunConfig], part: Sequence[int], epoch: int, h: History) -> EpochSnapshot:
    """The live view of a batch after `epoch` epochs (its real runs, not the padding)."""
    r = len(part)
    return EpochSnapshot(
        epoch=epoch,
        indices=tuple(part),
        test_loss=h.test_loss[epoch - 1, :r].double().numpy().copy(),
        test_correct=h.test_correct[epoch - 1, :r].numpy().copy(),
        params=tuple(run_params(h.params, configs[i], j) for j, i in enumerate(part)),
    )


# Cost model for batching shapes together (measured on 2 cores, eager float32): a
# step costs a fixed ~0.3 ms of dispatch plus ~5 ns per element of its largest
# (B, H, N, R) tensors. Padding a small network into a batch of wider ones costs
# compute; a batch of its own costs the fixed overhead. `shape_batches` weighs the two.
STEP_OVERHEAD_NS = 300_000
ELEMENT_NS = 5


def _cost(shapes: dict[tuple[int, int], int]) -> float:
    """Per-step cost (ns) of one batch holding `runs` runs of each (N, H) shape."""
    n = max(k[0] for k in shapes)
    h = max(k[1] for k in shapes)
    runs = sum(shapes.values())
    runs += -runs % RUN_ALIGN
    return STEP_OVERHEAD_NS + ELEMENT_NS * BATCH_SIZE * n * h * runs


def shape_batches(configs: Sequence[RunConfig], idx: list[int]) -> list[list[int]]:
    """Split runs of one (epochs, dtype) group into batches of network shapes.

    Shapes are taken from the smallest up; the next shape joins the current batch
    when one padded batch is cheaper than two (`_cost`). Padding does not change a
    run's numbers (see `sgd_step`), so this is purely a question of speed.
    """
    by_shape: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in idx:
        by_shape[(configs[i].inputs, configs[i].hidden)].append(i)
    batches: list[list[int]] = []
    current: dict[tuple[int, int], int] = {}
    members: list[int] = []
    for shape in sorted(by_shape):
        runs = by_shape[shape]
        if current and _cost({**current, shape: len(runs)}) > _cost(current) + _cost({shape: len(runs)}):
            batches.append(members)
            current, members = {}, []
        current[shape] = len(runs)
        members = members + runs
    if members:
        batches.append(members)
    return batches


# An activation with at least this many runs gets batches of its own: a mixed batch
# computes every activation it holds for every run, which pays off only while the
# fixed cost per step dominates (small batches).
OWN_BATCH_RUNS = 256


def activation_groups(configs: Sequence[RunConfig]) -> list[list[int]]:
    """Indices grouped by (epochs, dtype); within a group, activations with many runs
    split off, the rest share a mixed batch."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(configs):
        groups[_group_key(c)].append(i)
    out = []
    for idx in groups.values():
        by_act: dict[str, list[int]] = defaultdict(list)
        for i in idx:
            by_act[configs[i].activation].append(i)
        mixed = [i for a, members in by_act.items() if len(members) < OWN_BATCH_RUNS for i in members]
        out += [members for members in by_act.values() if len(members) >= OWN_BATCH_RUNS]
        out += [mixed] if mixed else []
    return out


def _epoch_callback(configs: Sequence[RunConfig], part: list[int], on_progress, on_epoch):
    """train_batch's per-epoch callback: progress in fractions of runs, and snapshots."""
    if on_progress is None and on_epoch is None:
        return None
    epochs = configs[part[0]].epochs

    def report(epoch: int, h: History) -> None:
        if on_progress is not None:
            on_progress(len(part) / epochs)
        if on_epoch is not None:
            on_epoch(snapshot(configs, part, epoch, h))

    return report


def train_runs(configs: Sequence[RunConfig], on_progress: Callable[[float], None] | None = None,
               on_epoch: Callable[[EpochSnapshot], None] | None = None) -> list[RunResult]:
    """Train every config; results in the order given.

    Runs with the same epochs and dtype are batched together, different network
    shapes padded into one batch where that is faster, in chunks that fit the memory
    budget. on_progress gets the runs done since its last call (fractions of runs
    after each epoch, so long batches show progress); on_epoch, an `EpochSnapshot`
    of each batch after each of its epochs.
    """
    results: list[RunResult | None] = [None] * len(configs)
    for idx in activation_groups(configs):
        for members in shape_batches(configs, idx):
            widest = configs[members[0]].replace(inputs=max(configs[i].inputs for i in members),
                                                 hidden=max(configs[i].hidden for i in members))
            check_fits_in_memory(widest)
            size = chunk_size(widest)
            for lo in range(0, len(members), size):
                part = members[lo : lo + size]
                batch = [configs[i] for i in part]
                history = train_batch(padded(batch), on_epoch=_epoch_callback(configs, part, on_progress, on_epoch))
                for i, res in zip(part, unstack(batch, history, "batched")):
                    results[i] = res
    return results  # type: ignore[return-value]
