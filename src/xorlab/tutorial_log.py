"""The tutorial's log lines, formatted exactly as its `train()` and `test()` print them."""

from __future__ import annotations

from .config import BATCH_SIZE, LOG_EVERY, TEST_BATCHES
from .data import batch_bounds


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
    return "\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.2f}%)\n".format(
        test_loss, correct, total, 100.0 * correct / total
    )


def epoch_text(epoch: int, losses, test_loss: float, correct: int, batch_size: int = BATCH_SIZE) -> str:
    """Everything the tutorial prints for one epoch, newline-terminated."""
    return "\n".join(train_lines(epoch, losses, batch_size)) + "\n" + test_block(test_loss, correct) + "\n"
