"""The tutorial's noisy-XOR data, generalised to N-input parity.

Draw order for one example (for N = 2 it is exactly the tutorial's `make_data`):
  1. N bits, x_1 .. x_N, each `random.randint(0, 1)`;
  2. the target y = x_1 XOR ... XOR x_N (parity);
  3. if centred, every x_i and y map to 2 * (v - 0.5), i.e. 0/1 -> -1/+1;
  4. noise: x_i += 0.1 * random.random() for i = 1..N in order, then y likewise.
Examples are drawn in batches of 10: three sample batches (the tutorial prints them
before building its data, so they consume the stream), then 500 train batches, then
50 test batches. Values are kept as Python floats (float64) until a run casts them.

Two implementations live here. `plain_stream` is the obvious one, calling Python's
`random` exactly as the tutorial does; it is the reference. `make_data` is the fast
one used by both engines: it takes the same Mersenne Twister words in bulk, for many
seeds at once, and decodes them with numpy. The decoding follows CPython's `random`:
  - `randint(0, 1)` is `_randbelow(2)`: it draws `getrandbits(2)`, i.e. the top two
    bits of one 32-bit word, and rejects values >= 2. So it consumes words until one
    has its top bit clear, and returns that word's second-highest bit;
  - `random()` consumes two words a, b: ((a >> 5) * 2**26 + (b >> 6)) / 2**53.
Tests prove the two implementations bit-identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .config import BATCH_SIZE, SAMPLE_BATCHES, TEST_BATCHES, TRAIN_BATCHES

EXAMPLES = (SAMPLE_BATCHES + TRAIN_BATCHES + TEST_BATCHES) * BATCH_SIZE  # 5530
NOISE = 0.1
DECODE_CHUNK = 256  # runs decoded together: big enough to amortise the per-example loop


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


# --- the reference: Python's `random`, one call at a time ---------------------------


def plain_example(rng: random.Random, inputs: int, center: bool) -> tuple[list[float], float]:
    bits = [rng.randint(0, 1) for _ in range(inputs)]
    y: float = sum(bits) % 2
    x: list[float] = list(bits)
    if center:
        x = [2.0 * (v - 0.5) for v in x]
        y = 2.0 * (y - 0.5)
    x = [v + NOISE * rng.random() for v in x]
    y += NOISE * rng.random()
    return x, y


def plain_stream(rng: random.Random, inputs: int = 2, center: bool = False) -> XorData:
    """The tutorial's generator, call for call. Returns data for R = 1."""
    examples = [plain_example(rng, inputs, center) for _ in range(EXAMPLES)]
    x = np.array([e[0] for e in examples], dtype=np.float64)  # (EXAMPLES, N)
    y = np.array([e[1] for e in examples], dtype=np.float64)  # (EXAMPLES,)
    return _split(x[None], y[None])


# --- the fast path: bulk Mersenne Twister words, decoded for many seeds at once ------


def _words_per_example(inputs: int) -> int:
    # Each randint takes a geometric number of words (mean 2); each random() takes 2.
    return 2 * inputs + 2 * (inputs + 1)


def mt_words(seed: int, count: int) -> np.ndarray:
    """The first `count` 32-bit outputs of `random.Random(seed)`, as uint32.

    Python seeds the Twister (init_by_array of the seed's 32-bit digits); numpy's
    MT19937, given that exact state, produces the same words in C at bulk speed
    (`integers` over the full 32-bit range returns the raw outputs unchanged).
    """
    state = random.Random(seed).getstate()[1]
    bitgen = np.random.MT19937()
    bitgen.state = {
        "bit_generator": "MT19937",
        "state": {"key": np.array(state[:624], dtype=np.uint32), "pos": state[624]},
    }
    return np.random.Generator(bitgen).integers(0, 2**32, size=count, dtype=np.uint32)


def _decode(words: np.ndarray, inputs: int, center: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode (R, W) words (one row per run) into x (R, E, N), y (R, E), ok (R,).

    All rows are viewed as one flat stream. A randint accepts the first word with its
    top bit clear ("clear word"), so an example's N bits sit on N consecutive clear
    words, and its noise on the 2(N + 1) words after the last of them; the next
    example starts at the first clear word after that. Numbering the clear words
    k = 0, 1, ... turns each example into one table look-up, so the parse, which is
    sequential in the example index, is one gather per example across all runs.
    ok is False for a run whose words ran out before its last example.
    """
    r, w = words.shape
    assert r * w < 2**31 - 64, "decode fewer runs at a time"
    noise_words = 2 * (inputs + 1)
    end = r * w  # one past the last real word; positions are clamped to it
    flat_words = np.zeros(end + noise_words + 1, dtype=np.uint32)
    flat_words[:end] = words.ravel()
    clear = flat_words[:end] < 2**31
    k_total = int(np.count_nonzero(clear))
    pad = noise_words + inputs
    position = np.full(k_total + pad, end, dtype=np.int32)  # flat position of clear word k
    position[:k_total] = np.flatnonzero(clear)
    # inside[m]: clear words among the noise_words words after clear word m (at most
    # noise_words of them, all among the next noise_words clear words).
    inside = np.zeros(k_total + inputs, dtype=np.int32)
    reach = position[: len(inside)] + noise_words
    for d in range(1, noise_words + 1):
        inside += position[d : d + len(inside)] <= reach
    # An example starting at clear word k takes bits k .. k + N - 1; the next one
    # starts after the clear words hidden in its noise.
    next_start = np.arange(inputs, inputs + k_total + 1, dtype=np.intp) + inside[inputs - 1 :]
    np.minimum(next_start, k_total, out=next_start)  # (K + 1,)
    first = np.searchsorted(position[:k_total], (np.arange(r) * w).astype(np.int32))  # (R,)
    starts = np.empty((EXAMPLES, r), dtype=np.intp)  # (E, R): clear-word number of each example
    k = first
    for e in range(EXAMPLES):
        starts[e] = k
        k = np.take(next_start, k)
    starts = np.ascontiguousarray(starts.T)  # (R, E): rows walk forward through memory
    row_end = (np.arange(r) + 1) * w
    bit_pos = np.take(position, starts[..., None] + np.arange(inputs, dtype=np.intp)).astype(np.intp)  # (R, E, N)
    ok = bit_pos[:, -1, -1] + noise_words < row_end
    bits = (np.take(flat_words, bit_pos) >> 30) & 1
    draws = bit_pos[..., -1:] + 1 + np.arange(2 * (inputs + 1), dtype=np.intp)  # (R, E, 2(N + 1))
    pairs = np.take(flat_words, draws).reshape(r, EXAMPLES, inputs + 1, 2)
    noise = ((pairs[..., 0] >> 5) * 67108864.0 + (pairs[..., 1] >> 6)) * (1.0 / 9007199254740992.0)
    x = bits.astype(np.float64)
    y = (np.bitwise_xor.reduce(bits, axis=-1)).astype(np.float64)  # (R, E)
    if center:
        x = 2.0 * (x - 0.5)
        y = 2.0 * (y - 0.5)
    x += NOISE * noise[..., :inputs]
    y += NOISE * noise[..., inputs]
    return x, y, ok


def _split(x: np.ndarray, y: np.ndarray) -> XorData:
    """(R, E, N), (R, E) -> the tutorial's sample/train/test batches."""
    r, n = x.shape[0], x.shape[-1]
    x = x.reshape(r, -1, BATCH_SIZE, n)
    y = y.reshape(r, -1, BATCH_SIZE)
    a, b = SAMPLE_BATCHES, SAMPLE_BATCHES + TRAIN_BATCHES
    return XorData(x[:, :a], y[:, :a], x[:, a:b], y[:, a:b], x[:, b:], y[:, b:])


def _decode_seeds(seeds: Sequence[int], inputs: int, center: bool) -> tuple[np.ndarray, np.ndarray]:
    per_run = EXAMPLES * _words_per_example(inputs)
    count = per_run + per_run // 20 + 512  # mean + a margin of over 10 standard deviations
    x = np.empty((len(seeds), EXAMPLES, inputs))
    y = np.empty((len(seeds), EXAMPLES))
    todo = np.arange(len(seeds))
    while len(todo):  # a run that ran out of words is redone with twice as many
        words = np.stack([mt_words(seeds[i], count) for i in todo])  # (R, W)
        xs, ys, ok = _decode(words, inputs, center)
        x[todo[ok]], y[todo[ok]] = xs[ok], ys[ok]
        todo, count = todo[~ok], 2 * count
    return x, y


def make_data(seeds: Sequence[int], inputs: int = 2, center: bool = False) -> XorData:
    """Exactly `plain_stream(random.Random(seed), ...)` for every seed, at bulk speed."""
    x = np.empty((len(seeds), EXAMPLES, inputs))  # (R, E, N)
    y = np.empty((len(seeds), EXAMPLES))  # (R, E)
    for lo in range(0, len(seeds), DECODE_CHUNK):
        x[lo : lo + DECODE_CHUNK], y[lo : lo + DECODE_CHUNK] = _decode_seeds(seeds[lo : lo + DECODE_CHUNK], inputs, center)
    return _split(x, y)


def unseeded_data(inputs: int = 2, center: bool = False) -> XorData:
    """Like the tutorial as written (no seed): a fresh, OS-seeded stream."""
    return plain_stream(random.Random(), inputs, center)
