import random

import numpy as np
import pytest

from xorlab import twister
from xorlab.data import EXAMPLES, make_data, mt_words, plain_stream

FIELDS = ("sample_x", "sample_y", "train_x", "train_y", "test_x", "test_y")


def assert_same_data(a, b, i=0, j=0):
    for f in FIELDS:
        x, y = getattr(a, f)[i], getattr(b, f)[j]
        assert x.shape == y.shape and np.array_equal(x, y), f


def tutorial_make_data(rng, center):
    """The tutorial's make_data, verbatim but for an explicit generator."""
    x1 = rng.randint(0, 1)
    x2 = rng.randint(0, 1)
    yy = 0 if (x1 == x2) else 1
    if center:
        x1 = 2.0 * (x1 - 0.5)
        x2 = 2.0 * (x2 - 0.5)
        yy = 2.0 * (yy - 0.5)
    x1 += 0.1 * rng.random()
    x2 += 0.1 * rng.random()
    yy += 0.1 * rng.random()
    return [x1, x2], yy


@pytest.mark.parametrize("center", [False, True])
def test_plain_stream_is_the_tutorials_generator_for_two_inputs(center):
    ours = plain_stream(random.Random(42), 2, center)
    rng = random.Random(42)
    theirs = [tutorial_make_data(rng, center) for _ in range(EXAMPLES)]
    x = np.array([e[0] for e in theirs], dtype="float32").reshape(-1, 10, 2)
    y = np.array([e[1] for e in theirs], dtype="float32").reshape(-1, 10)
    # Three printed sample batches, then 500 train and 50 test batches.
    assert np.array_equal(ours.sample_x[0].astype(np.float32), x[:3])
    assert np.array_equal(ours.train_x[0].astype(np.float32), x[3:503])
    assert np.array_equal(ours.test_y[0].astype(np.float32), y[503:])


@pytest.mark.parametrize("inputs", [1, 2, 3, 5])
@pytest.mark.parametrize("center", [False, True])
def test_bulk_generator_is_bit_identical_to_the_plain_stream(inputs, center):
    seeds = [0, 1, 42, 2**32 + 5, 2**62]
    fast = make_data(seeds, inputs, center)
    for i, seed in enumerate(seeds):
        assert_same_data(plain_stream(random.Random(seed), inputs, center), fast, j=i)


def test_mt_words_are_pythons_own_stream():
    rng = random.Random(2024)
    assert mt_words(2024, 2000).tolist() == [rng.getrandbits(32) for _ in range(2000)]


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**63 - 1])
def test_the_compiled_seeding_is_pythons_init_by_array(seed):
    state = np.empty(624, dtype=np.int64)
    twister.seeded_state(twister.seed_key(seed), state)
    assert state.tolist() == list(random.Random(seed).getstate()[1][:624])


def test_runs_do_not_depend_on_their_batch_companions():
    alone = make_data([7], 3, True)
    together = make_data(list(range(20)), 3, True)
    assert_same_data(alone, together, j=7)


@pytest.mark.parametrize("inputs", [1, 2, 4])
def test_targets_are_parity_and_noise_is_in_the_tutorials_range(inputs):
    d = make_data([11], inputs, center=False)
    x, y = d.train_x[0].reshape(-1, inputs), d.train_y[0].reshape(-1)
    bits = np.floor(x).astype(int)
    assert np.array_equal(np.floor(y).astype(int), bits.sum(axis=1) % 2)
    assert ((x - bits) >= 0).all() and ((x - bits) < 0.1).all()
    c = make_data([11], inputs, center=True)
    assert np.allclose(c.train_y[0].reshape(-1) - c.train_y[0].reshape(-1).round(), 0, atol=0.1)
    assert set(np.floor(c.train_x[0].reshape(-1))) <= {-1.0, 1.0}
