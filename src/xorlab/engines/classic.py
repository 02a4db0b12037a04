"""The one-run trainer: the tutorial's `train()` / `test()` loop, returning its numbers.

This is the reference path: plain `nn.Module`, `optim.SGD`, `F.mse_loss`, one mini-batch
at a time in the tutorial's order (no shuffling). The batched engine is tested against it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import optim

from ..config import LOG_EVERY, RunConfig, check_fits_in_memory
from ..data import XorData, make_data, unseeded_data
from ..model import TORCH_DTYPES, XorNet, build_model
from ..result import LOGGED_BATCHES, RunResult

# on_epoch(epoch, train_losses (5,), test_loss, test_correct, params), called after each
# epoch; params is a copy of the parameters by name, as in RunResult.params.
EpochCallback = Callable[[int, np.ndarray, float, int, dict], None]


def run_data(config: RunConfig) -> XorData:
    """The run's data stream (R = 1): seeded exactly as the tutorial, or fresh if unseeded."""
    if config.seed is None:
        return unseeded_data(config.inputs, config.center)
    return make_data([config.seed], config.inputs, config.center)


def train_epoch(model: XorNet, optimizer: optim.Optimizer, xs: torch.Tensor, ys: torch.Tensor) -> np.ndarray:
    """One pass over the train batches xs (S, B, N), ys (S, B); the logged losses (5,)."""
    model.train()
    logged = np.empty(len(LOGGED_BATCHES))
    for i in range(xs.shape[0]):
        optimizer.zero_grad()
        loss = F.mse_loss(model(xs[i]), ys[i])
        loss.backward()
        optimizer.step()
        if i % LOG_EVERY == 0:
            logged[i // LOG_EVERY] = loss.item()
    return logged


@torch.no_grad()
def evaluate(model: XorNet, xs: torch.Tensor, ys: torch.Tensor) -> tuple[float, int]:
    """Mean test-batch loss and correct count over xs (T, B, N), ys (T, B).

    Batch by batch, accumulating in the model's dtype, as the tutorial's `test()` does,
    so the printed loss is the tutorial's to the last bit. A point is correct when
    round(output) == round(target) (round half to even, like `np.around`).
    """
    model.eval()
    total = torch.zeros((), dtype=xs.dtype)
    correct = 0
    for i in range(xs.shape[0]):
        output = model(xs[i])
        total += F.mse_loss(output, ys[i])
        correct += int((torch.round(output) == torch.round(ys[i])).sum())
    return (total / xs.shape[0]).item(), correct


def parameters(model: XorNet) -> dict[str, np.ndarray]:
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


def train_run(config: RunConfig, on_epoch: EpochCallback | None = None, data: XorData | None = None) -> RunResult:
    """Train one run of `config` and return its history. Never raises on divergence."""
    check_fits_in_memory(config)
    data = run_data(config) if data is None else data
    dtype = TORCH_DTYPES[config.dtype]
    train_x, train_y = (torch.as_tensor(a[0], dtype=dtype) for a in (data.train_x, data.train_y))
    test_x, test_y = (torch.as_tensor(a[0], dtype=dtype) for a in (data.test_x, data.test_y))
    model = build_model(config)
    optimizer = optim.SGD(model.parameters(), lr=config.lr)
    train_loss = np.empty((config.epochs, len(LOGGED_BATCHES)))
    test_loss = np.empty(config.epochs)
    test_correct = np.empty(config.epochs, dtype=np.int64)
    for epoch in range(config.epochs):
        train_loss[epoch] = train_epoch(model, optimizer, train_x, train_y)
        test_loss[epoch], test_correct[epoch] = evaluate(model, test_x, test_y)
        if on_epoch is not None:
            on_epoch(epoch + 1, train_loss[epoch], float(test_loss[epoch]), int(test_correct[epoch]),
                     parameters(model))
    params = parameters(model)
    return RunResult(config, train_loss, test_loss, test_correct, params, engine="classic")
