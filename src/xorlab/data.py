"""The tutorial's noisy-XOR data, generalised to N-input parity.

Draw order for one example (for N = 2 it is exactly the tutorial's `make_data`):
  1. N bits, x_1 .. x_N, each `random.randint(0, 1)`;
  2. the target y = x_1 XOR ... XOR x_N (parity);
  3. if centred, every x_i and y map to 2 * (v - 0.5), i.e. 0/1 -> -1/+1;
  4. noise: x_i += noise * random.random() for i = 1..N in order, then y likewise
     (noise is 0.1 in the tutorial; every amplitude draws the same `random()` values).
Examples are drawn in batches of 10: three sample batches (the tutorial prints them
before building its data, so they consume the stream), then 500 train batches, then
50 test batches. Values are kept as Python floats (float64) until a run casts them.
A run with another batch size B trains on the same 5,000 training examples in the same
order, cut into batches of B (`train_batches`); its test set stays 50 batches of 10.

Two implementations live here. `plain_stream` is the obvious one, calling Python's
`random` exactly as the tutorial does; it is the reference. `make_data` is the fast
one used by the engines: CPython's Mersenne Twister and its `randint`/`random` draws
compiled (`twister.py`), one seed per thread. Tests prove the two bit-identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from . import twister
from .config import BATCH_SIZE, KNOB_DEFAULTS, SAMPLE_BATCHES, TEST_BATCHES, TRAIN_BATCHES, TRAIN_EXAMPLES

EXAMPLES = (SAMPLE_BATCHES + TRAIN_BATCHES + TEST_BATCHES) * BATCH_SIZE  # 5530
NOISE = KNOB_DEFAULTS["noise"]  # the tutorial's `0.1 * random.random()`


@dataclass(frozen=True)
class XorData:
    """One or many runs' data, float64. Leading dimension R = runs (seeds).

    sample_x (R, 3, B, N), sample_y (R, 3, B): the three batches the tutorial prints.
    train_x (R, 500, B, N), train_y (R, 500, B); test_x (R, 50, B, N), test_y (R, 50, B).
    """

    sample_x: np.ndarray
    sample_y: np.ndarray
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    def run(self, i: int) -> XorData:
        """The data of run i alone, keeping a leading dimension of 1."""
        return XorData(*(getattr(self, f)[i : i + 1] for f in self.__dataclass_fields__))

    def train_examples(self) -> tuple[np.ndarray, np.ndarray]:
        """The training examples in stream order: x (R, 5000, N), y (R, 5000) (views)."""
        r, n = self.train_x.shape[0], self.train_x.shape[-1]
        return self.train_x.reshape(r, TRAIN_EXAMPLES, n), self.train_y.reshape(r, TRAIN_EXAMPLES)


def batch_bounds(batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each training batch of `batch_size` over the 5,000 examples,
    in order; S = ceil(5000 / B) of them, the last one short where B does not divide
    5,000 (like a DataLoader without drop_last)."""
    return [(a, min(a + batch_size, TRAIN_EXAMPLES)) for a in range(0, TRAIN_EXAMPLES, batch_size)]


def train_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cut flat training examples x (..., 5000, N), y (..., 5000) into batches of
    `batch_size`: yields x (..., b, N), y (..., b) views, b = B except maybe the last."""
    for a, b in batch_bounds(batch_size):
        yield x[..., a:b, :], y[..., a:b]


# --- the reference: Python's `random`, one call at a time ---------------------------


def plain_example(rng: random.Random, inputs: int, center: bool, noise: float = NOISE) -> tuple[list[float], float]:
    bits = [rng.randint(0, 1) for _ in range(inputs)]
    y: float = sum(bits) % 2
    x: list[float] = list(bits)
    if center:
        x = [2.0 * (v - 0.5) for v in x]
        y = 2.0 * (y - 0.5)
    x = [v + noise * rng.random() for v in x]
    y += noise * rng.random()
    return x, y


def plain_stream(rng: random.Random, inputs: int = 2, center: bool = False, noise: float = NOISE) -> XorData:
    """The tutorial's generator, call for call. Returns data for R = 1."""
    examples = [plain_example(rng, inputs, center, noise) for _ in range(EXAMPLES)]
    x = np.array([e[0] for e in examples], dtype=np.float64)  # (EXAMPLES, N)
    y = np.array([e[1] for e in examples], dtype=np.float64)  # (EXAMPLES,)
    return _split(x[None], y[None])


# --- the fast path: the same stream, compiled ------------------------------------


def mt_words(seed: int, count: int) -> np.ndarray:
    """The first `count` 32-bit outputs of `random.Random(seed)`, as int64."""
    out = np.empty(count, dtype=np.int64)
    twister.words(twister.seed_key(seed), out)
    return out


def _split(x: np.ndarray, y: np.ndarray) -> XorData:
    """(R, E, N), (R, E) -> the tutorial's sample/train/test batches."""
    r, n = x.shape[0], x.shape[-1]
    x = x.reshape(r, -1, BATCH_SIZE, n)
    y = y.reshape(r, -1, BATCH_SIZE)
    a, b = SAMPLE_BATCHES, SAMPLE_BATCHES + TRAIN_BATCHES
    return XorData(x[:, :a], y[:, :a], x[:, a:b], y[:, a:b], x[:, b:], y[:, b:])


def make_data(seeds: Sequence[int], inputs: int = 2, center: bool = False, noise: float = NOISE) -> XorData:
    """Exactly `plain_stream(random.Random(seed), ...)` for every seed, at compiled speed."""
    x = np.empty((len(seeds), EXAMPLES, inputs))  # (R, E, N)
    y = np.empty((len(seeds), EXAMPLES))  # (R, E)
    twister.decode_many(twister.seed_keys(seeds), inputs, center, float(noise), x, y)
    return _split(x, y)


def unseeded_data(inputs: int = 2, center: bool = False, noise: float = NOISE) -> XorData:
    """Like the tutorial as written (no seed): a fresh, OS-seeded stream."""
    return plain_stream(random.Random(), inputs, center, noise)
