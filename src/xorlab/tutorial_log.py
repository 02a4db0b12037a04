"""The tutorial's log lines, formatted exactly as its `train()` and `test()` print them."""

from __future__ import annotations

from .config import BATCH_SIZE, TEST_BATCHES
from .result import LOGGED_BATCHES


def train_lines(epoch: int, losses) -> list[str]:
    """'Train Epoch: E N\\tLoss: L' for batches 0, 100, ..., 400 (N counts examples)."""
    return [
        "Train Epoch: {} {}\tLoss: {:.4f}".format(epoch, batch * BATCH_SIZE, float(loss))
        for batch, loss in zip(LOGGED_BATCHES, losses)
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
