import math
import random

import numba
import numpy as np
import pytest

from xorlab import twister
from xorlab.config import RunConfig, logged_batches
from xorlab.data import EXAMPLES, batch_bounds, make_data, mt_words, plain_stream, train_batches
from xorlab.result import LOGGED_BATCHES

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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_decoding_into_lanes_is_the_bulk_stream_cast(dtype):
    """The jax engine's layout, runs innermost: lanes filled in any order, from any
    first example, hold the bulk generator's values cast to the lanes' precision."""
    seeds, lanes, skip = [3, 2**40 + 1, 0, 9, *range(100, 117)], [20, 0, 7, 1, *range(2, 7), *range(8, 20)], 30
    x = np.full((EXAMPLES - skip, 3, 21), np.nan, dtype)  # (E, N, R)
    y = np.full((EXAMPLES - skip, 21), np.nan, dtype)  # (E, R)
    twister.decode_lanes(twister.seed_keys(seeds), np.array(lanes, np.int64), 3, True, 0.3, skip, x, y, numba.get_num_threads())
    d = make_data(seeds, 3, True, 0.3)
    flat_x = np.concatenate([d.sample_x, d.train_x, d.test_x], axis=1).reshape(len(seeds), EXAMPLES, 3)
    flat_y = np.concatenate([d.sample_y, d.train_y, d.test_y], axis=1).reshape(len(seeds), EXAMPLES)
    for k, lane in enumerate(lanes):
        assert np.array_equal(x[:, :, lane], flat_x[k, skip:].astype(dtype))
        assert np.array_equal(y[:, lane], flat_y[k, skip:].astype(dtype))


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


# --- the knobs: noise amplitude and batch size -------------------------------------------

@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("inputs, center", [(2, False), (3, True)])
def test_any_noise_amplitude_is_bit_identical_in_both_generators(noise, inputs, center):
    seeds = [0, 42, 2**40 + 3]
    fast = make_data(seeds, inputs, center, noise)
    for i, seed in enumerate(seeds):
        assert_same_data(plain_stream(random.Random(seed), inputs, center, noise), fast, j=i)


def test_noise_scales_the_same_draws_and_zero_is_clean_xor():
    tutorial, clean, loud = (make_data([5], 2, False, noise) for noise in (0.1, 0.0, 0.3))
    assert_same_data(make_data([5], 2, False), tutorial)  # the default is the tutorial's 0.1
    bits = clean.train_x[0]
    assert set(np.unique(bits)) == {0.0, 1.0} and np.array_equal(clean.train_y[0], bits.sum(axis=-1) % 2)
    # the same random() values, scaled: (x - bits) / noise agrees across amplitudes
    assert np.allclose((loud.train_x - bits) / 0.3, (tutorial.train_x - bits) / 0.1, rtol=0, atol=1e-13)
    assert (loud.train_x - bits).max() > 0.2


@pytest.mark.parametrize("batch_size, count, last", [(1, 5000, 1), (7, 715, 2), (10, 500, 10), (50, 100, 50),
                                                     (500, 10, 500)])
def test_training_examples_are_cut_in_order_into_batches_of_b(batch_size, count, last):
    d = make_data([3, 4], 3)
    x, y = d.train_examples()
    assert x.shape == (2, 5000, 3) and y.shape == (2, 5000)
    assert np.array_equal(x[:, :10], d.train_x[:, 0]) and np.array_equal(y[:, -10:], d.train_y[:, -1])
    batches = list(train_batches(x, y, batch_size))
    assert len(batches) == count == RunConfig(batch_size=batch_size).train_batches
    assert [bx.shape[1] for bx, _ in batches] == [batch_size] * (count - 1) + [last]
    assert all(bx.shape[0] == 2 and by.shape == bx.shape[:2] for bx, by in batches)
    assert np.array_equal(np.concatenate([bx for bx, _ in batches], axis=1), x)
    assert np.array_equal(np.concatenate([by for _, by in batches], axis=1), y)
    assert batch_bounds(batch_size)[-1] == (5000 - last, 5000)


@pytest.mark.parametrize("batch_size, count, last", [(1, 50, 4900), (7, 8, 700), (10, 5, 400), (49, 2, 100),
                                                     (50, 1, 0), (500, 1, 0)])
def test_logged_batches_are_every_hundredth_batch_of_the_epoch(batch_size, count, last):
    """The tutorial's `batch_idx % 100 == 0`: ceil(S / 100) losses per epoch."""
    c = RunConfig(batch_size=batch_size)
    got = logged_batches(c)
    assert len(got) == count == math.ceil(c.train_batches / 100) and got[-1] == last
    assert got == tuple(i for i in range(c.train_batches) if i % 100 == 0)
    assert logged_batches(RunConfig()) == LOGGED_BATCHES == (0, 100, 200, 300, 400)
