"""The tutorial's log lines, formatted exactly as its `train()` and `test()` print them,
and its script's run as one call (`xorlab train`)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .config import BATCH_SIZE, LOG_EVERY, TEST_BATCHES, RunConfig
from .data import XorData, batch_bounds
from .engines.classic import run_data, train_run
from .engines.plan import check_fits_in_memory
from .model import initial_parameters
from .result import RunResult


def train_lines(epoch: int, losses, batch_size: int = BATCH_SIZE) -> list[str]:
    """'Train Epoch: E N\\tLoss: L' for batches 0, 100, 200, ... (N is the tutorial's
    `batch_idx * len(data)`: the batch's index times its length)."""
    bounds = batch_bounds(batch_size)
    return [
        "Train Epoch: {} {}\tLoss: {:.4f}".format(epoch, i * (bounds[i][1] - bounds[i][0]), float(loss))
        for i, loss in zip(range(0, len(bounds), LOG_EVERY), losses)
    ]


def test_block(test_loss: float, correct: int) -> str:
    """The test report, with the blank lines around it that the tutorial's print makes."""
    total = BATCH_SIZE * TEST_BATCHES
    # the tutorial's own percent (100.0 * correct / total), not formatting.percent: its digits
    return "\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.2f}%)\n".format(
        test_loss, correct, total, 100.0 * correct / total
    )


def epoch_text(epoch: int, losses, test_loss: float, correct: int, batch_size: int = BATCH_SIZE) -> str:
    """Everything the tutorial prints for one epoch, newline-terminated."""
    return "\n".join(train_lines(epoch, losses, batch_size)) + "\n" + test_block(test_loss, correct) + "\n"


def preamble_text(config: RunConfig, data: XorData) -> str:
    """What the script prints before training: three sample batches, then the weights."""
    lines = [str((data.sample_x[0, i].astype(np.float32), data.sample_y[0, i].astype(np.float32)))
             for i in range(data.sample_x.shape[1])]
    lines += [str(torch.nn.Parameter(p)) for p in initial_parameters(config).values()]
    return "".join(line + "\n" for line in lines)


def train_logged(config: RunConfig, write: Callable[[str], None], verbose: bool = False) -> RunResult:
    """The tutorial's script for one config: `write` gets what it prints as it prints it
    (with `verbose`, the sample batches and initial weights first), epoch by epoch."""
    data = None
    if verbose:
        check_fits_in_memory(config)  # before drawing the data the preamble shows
        data = run_data(config)
        write(preamble_text(config, data))
    return train_run(config, on_epoch=lambda epoch, losses, test_loss, correct, _params:
                     write(epoch_text(epoch, losses, test_loss, correct, config.batch_size)), data=data)
