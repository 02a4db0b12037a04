"""The one-run trainer: the tutorial's `train()` / `test()` loop, returning its numbers.

This is the reference path: plain `nn.Module`, `torch.optim`, `F.mse_loss`, one
mini-batch at a time in the tutorial's order (no shuffling). Every knob is written as a
user would write it into the tutorial: the optimizer as `torch.optim` builds it, the
5,000 training examples cut into batches of the run's batch size, deeper nets as more
`nn.Linear` layers. The other engines are tested against it.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import optim

from ..config import LOG_EVERY, RunConfig, logged_batches
from ..data import XorData, make_data, train_batches, unseeded_data
from ..model import TORCH_DTYPES, XorNet, build_model
from ..result import RunResult
from .plan import check_fits_in_memory

# on_epoch(epoch, train_losses (L,), test_loss, test_correct, params), called after each
# epoch (L = len(logged_batches(config)), 5 at the tutorial's batch size); params is a
# copy of the parameters by name, as in RunResult.params.
EpochCallback = Callable[[int, np.ndarray, float, int, dict], None]


def run_data(config: RunConfig) -> XorData:
    """The run's data stream (R = 1): seeded exactly as the tutorial, or fresh if unseeded."""
    if config.seed is None:
        return unseeded_data(config.inputs, config.center, config.noise)
    return make_data([config.seed], config.inputs, config.center, config.noise)


def make_optimizer(config: RunConfig, params) -> optim.Optimizer:
    """The run's optimizer, as a user would write it (torch.optim's default implementation).
    At the defaults it is the tutorial's own line, `optim.SGD(model.parameters(), lr=0.01)`."""
    lr, wd = config.lr, config.weight_decay
    if config.optimizer == "adam":  # torch's defaults: betas (0.9, 0.999), eps 1e-8
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if config.optimizer in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd,
                         nesterov=config.optimizer == "nesterov")
    if wd:
        return optim.SGD(params, lr=lr, weight_decay=wd)
    return optim.SGD(params, lr=lr)


def train_epoch(model: XorNet, optimizer: optim.Optimizer, batches: list[tuple[torch.Tensor, torch.Tensor]],
                logged: int) -> np.ndarray:
    """One pass over the train batches, each x (b, N), y (b,); the losses (logged,) of
    batches 0, 100, 200, ... before their step."""
    model.train()
    losses = np.empty(logged)
    for i, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        if i % LOG_EVERY == 0:
            losses[i // LOG_EVERY] = loss.item()
    return losses


def torch_batches(config: RunConfig, data: XorData) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Run 0's training examples in batches of the run's batch size, as tensors of its dtype."""
    x, y = (torch.as_tensor(a[0], dtype=TORCH_DTYPES[config.dtype]) for a in data.train_examples())  # (5000, N), (5000,)
    return [(xb, yb) for xb, yb in train_batches(x, y, config.batch_size)]


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
    batches = torch_batches(config, data)
    test_x, test_y = (torch.as_tensor(a[0], dtype=dtype) for a in (data.test_x, data.test_y))
    model = build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    logged = len(logged_batches(config))
    train_loss = np.empty((config.epochs, logged))
    test_loss = np.empty(config.epochs)
    test_correct = np.empty(config.epochs, dtype=np.int64)
    for epoch in range(config.epochs):
        with warnings.catch_warnings():
            # At batch size 1 the tutorial's squeeze leaves a scalar beside a target of
            # shape (1,): mse_loss warns about broadcasting, but one element is one element.
            warnings.filterwarnings("ignore", "Using a target size", UserWarning)
            train_loss[epoch] = train_epoch(model, optimizer, batches, logged)
        test_loss[epoch], test_correct[epoch] = evaluate(model, test_x, test_y)
        if on_epoch is not None:
            on_epoch(epoch + 1, train_loss[epoch], float(test_loss[epoch]), int(test_correct[epoch]),
                     parameters(model))
    params = parameters(model)
    return RunResult(config, train_loss, test_loss, test_correct, params, engine="classic")
