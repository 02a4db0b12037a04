"""The fused engine: each run's whole budget inside one compiled loop (kernels.py).

Per piece of the plan (plan.py): the runs are laid out in lane blocks, their data is
decoded straight into the blocks in the run's precision, their seeded initial weights
are copied in, and `kernels.train_blocks` trains every block for a span of epochs
with no Python in between. Spans exist only so that progress and live views can be
reported between them; the state carries over exactly, so a run's numbers do not
depend on the spans (tested).

Arrays, runs in lane blocks: K blocks of L = LANES lanes; S, T, B, N, H as in
batched.py. x (K, S, B, N, L); w1 (K, H, N, L); history (K, epochs, ..., L).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .. import activations, twister
from ..config import BATCH_SIZE, SAMPLE_BATCHES, TEST_BATCHES, TRAIN_BATCHES, RunConfig
from ..data import NOISE
from ..model import seeded_parameters
from ..result import LOGGED_BATCHES, RunResult
from . import EpochSnapshot, kernels
from .plan import group_key, lane_blocks, plan

LANES = kernels.LANES
NP_DTYPES = {"float32": np.float32, "float64": np.float64}
# Progress is reported after spans of about this many run-epochs (~0.1-0.5 s of work).
PROGRESS_RUN_EPOCHS = 4096

if {a.code for a in activations.REGISTRY.values()} != set(kernels.KERNEL_ACTIVATIONS):
    raise ImportError("activations.REGISTRY and kernels.KERNEL_ACTIVATIONS disagree: "
                      "an activation needs its branch in engines/kernels.py")


class Piece:
    """One piece's runs in lane blocks, its state and its history (see the module doc)."""

    def __init__(self, configs: Sequence[RunConfig]):
        first = configs[0]
        if any(group_key(c) != group_key(first) for c in configs):
            raise ValueError("a piece must share dtype, epochs and inputs (see plan.py)")
        if any(c.seed is None for c in configs):
            raise ValueError("the fused engine needs a seed for every run")
        self.configs = list(configs)
        blocks = lane_blocks(configs)
        # lanes[k][l]: the run (index into configs) in lane l of block k; padding
        # lanes repeat their block's last run.
        self.lanes = [b + [b[-1]] * (LANES - len(b)) for b in blocks]
        self.real = [len(b) for b in blocks]
        k, n, h = len(blocks), first.inputs, max(c.hidden for c in configs)
        dtype = NP_DTYPES[first.dtype]
        self.epochs = first.epochs
        lead = [configs[b[0]] for b in blocks]
        self.codes = np.array([activations.get(c.activation).code for c in lead], dtype=np.int64)
        self.inputs = np.full(k, n, dtype=np.int64)
        self.hidden = np.array([c.hidden for c in lead], dtype=np.int64)
        self.consts = np.array([1.0, 0.0, 2.0 / BATCH_SIZE], dtype=dtype)
        self.x = np.zeros((k, TRAIN_BATCHES, BATCH_SIZE, n, LANES), dtype)
        self.y = np.zeros((k, TRAIN_BATCHES, BATCH_SIZE, LANES), dtype)
        self.tx = np.zeros((k, TEST_BATCHES, BATCH_SIZE, n, LANES), dtype)
        self.ty = np.zeros((k, TEST_BATCHES, BATCH_SIZE, LANES), dtype)
        self.lr = np.empty((k, LANES), dtype)
        self.w1 = np.zeros((k, h, n, LANES), dtype)
        self.b1 = np.zeros((k, h, LANES), dtype)
        self.w2 = np.zeros((k, h, LANES), dtype)
        self.b2 = np.zeros((k, LANES), dtype)
        self.train_loss = np.full((k, self.epochs, len(LOGGED_BATCHES), LANES), np.nan, dtype)
        self.test_loss = np.full((k, self.epochs, LANES), np.nan, dtype)
        self.test_correct = np.zeros((k, self.epochs, LANES), dtype=np.int64)
        self._fill_data()
        self._fill_params()
        self.done = 0  # epochs trained so far

    def _fill_data(self) -> None:
        flat = [i for lanes in self.lanes for i in lanes]  # (K * L,) runs, block by block
        r = len(flat)
        keys = twister.seed_keys([self.configs[i].seed for i in flat])
        kernels.fill_data(keys, np.repeat(np.arange(len(self.lanes)), LANES), np.tile(np.arange(LANES), len(self.lanes)),
                          np.array([self.configs[i].inputs for i in flat], dtype=np.int64),
                          np.array([self.configs[i].center for i in flat]),
                          NOISE, SAMPLE_BATCHES * BATCH_SIZE, TRAIN_BATCHES * BATCH_SIZE,
                          self.x, self.y, self.tx, self.ty)
        assert r == len(self.lanes) * LANES

    def _fill_params(self) -> None:
        for k, lanes in enumerate(self.lanes):
            for l, i in enumerate(lanes):
                c = self.configs[i]
                if l >= self.real[k]:  # padding: a copy of the block's last run
                    for a in (self.w1, self.b1, self.w2):
                        a[k, ..., l] = a[k, ..., l - 1]
                    self.b2[k, l], self.lr[k, l] = self.b2[k, l - 1], self.lr[k, l - 1]
                    continue
                q = seeded_parameters(c)
                self.w1[k, : c.hidden, : c.inputs, l] = q["dense1.weight"].numpy()
                self.b1[k, : c.hidden, l] = q["dense1.bias"].numpy()
                self.w2[k, : c.hidden, l] = q["dense2.weight"][0].numpy()
                self.b2[k, l] = q["dense2.bias"][0].numpy()
                self.lr[k, l] = c.lr

    def train(self, epochs: int) -> None:
        """The next `epochs` epochs of every block (no more than the budget)."""
        last = min(self.epochs, self.done + epochs)
        kernels.train_blocks(self.codes, self.inputs, self.hidden, self.x, self.y, self.tx, self.ty, self.lr,
                             self.w1, self.b1, self.w2, self.b2, self.done, last,
                             self.train_loss, self.test_loss, self.test_correct, self.consts)
        self.done = last

    def run_params(self, i: int) -> dict[str, np.ndarray]:
        """Run i's current parameters (its padding cut off), copied, as RunResult.params."""
        k, l = self.position(i)
        c = self.configs[i]
        return {
            "dense1.weight": self.w1[k, : c.hidden, : c.inputs, l].copy(),
            "dense1.bias": self.b1[k, : c.hidden, l].copy(),
            "dense2.weight": self.w2[k, : c.hidden, l][None].copy(),
            "dense2.bias": self.b2[k, l : l + 1].copy(),
        }

    def position(self, i: int) -> tuple[int, int]:
        if not hasattr(self, "_where"):
            self._where = {j: (k, l) for k, lanes in enumerate(self.lanes) for l, j in enumerate(lanes[: self.real[k]])}
        return self._where[i]

    def result(self, i: int) -> RunResult:
        k, l = self.position(i)
        return RunResult(
            config=self.configs[i],
            train_loss=self.train_loss[k, :, :, l].astype(np.float64),
            test_loss=self.test_loss[k, :, l].astype(np.float64),
            test_correct=self.test_correct[k, :, l].copy(),
            params=self.run_params(i),
            engine="fused",
        )

    def snapshot(self, indices: Sequence[int]) -> EpochSnapshot:
        """Every run's state after the epochs done; indices: the runs' positions in the
        caller's list, in this piece's order."""
        e = self.done - 1
        where = [self.position(i) for i in range(len(self.configs))]
        return EpochSnapshot(
            epoch=self.done,
            indices=tuple(indices),
            test_loss=np.array([self.test_loss[k, e, l] for k, l in where], dtype=np.float64),
            test_correct=np.array([self.test_correct[k, e, l] for k, l in where], dtype=np.int64),
            params=tuple(self.run_params(i) for i in range(len(self.configs))),
        )


def span(piece: Piece, on_progress, on_epoch) -> int:
    """Epochs per kernel call: all at once unless someone is watching."""
    if on_epoch is not None:
        return 1
    if on_progress is not None:
        return max(1, math.ceil(PROGRESS_RUN_EPOCHS / len(piece.configs)))
    return piece.epochs


def train_piece(configs: Sequence[RunConfig], indices: Sequence[int],
                on_progress: Callable[[float], None] | None = None,
                on_epoch: Callable[[EpochSnapshot], None] | None = None) -> list[RunResult]:
    """Train one planned piece; results in its order. indices: its runs' positions in
    the caller's list (for snapshots)."""
    piece = Piece(configs)
    step = span(piece, on_progress, on_epoch)
    while piece.done < piece.epochs:
        before = piece.done
        piece.train(step)
        if on_progress is not None:
            on_progress(len(configs) * (piece.done - before) / piece.epochs)
        if on_epoch is not None:
            on_epoch(piece.snapshot(indices))
    return [piece.result(i) for i in range(len(configs))]


def train_runs(configs: Sequence[RunConfig], on_progress: Callable[[float], None] | None = None,
               on_epoch: Callable[[EpochSnapshot], None] | None = None) -> list[RunResult]:
    """Train every config, piece by piece as planned; results in the order given."""
    results: list[RunResult | None] = [None] * len(configs)
    for part in plan(configs):
        for i, r in zip(part, train_piece([configs[i] for i in part], part, on_progress, on_epoch)):
            results[i] = r
    return results  # type: ignore[return-value]
