import numpy as np
import pytest

from xorlab.config import RunConfig
from xorlab.model import build_model, initial_parameters, parameter_count
from xorlab.engines.classic import train_run

SHORT = dict(epochs=2)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
def test_result_has_the_tutorials_history(activation):
    r = train_run(RunConfig(seed=5, activation=activation, **SHORT))
    assert r.train_loss.shape == (2, 5)
    assert r.test_loss.shape == (2,) and r.test_correct.shape == (2,)
    assert r.test_total == 500 and 0 <= r.final_correct <= 500
    assert set(r.params) == {"dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"}
    assert r.params["dense1.weight"].shape == (2, 2) and not r.diverged


def test_same_seed_same_numbers_and_unseeded_runs_differ():
    a = train_run(RunConfig(seed=9, **SHORT))
    b = train_run(RunConfig(seed=9, **SHORT))
    assert np.array_equal(a.test_loss, b.test_loss)
    assert np.array_equal(a.params["dense2.weight"], b.params["dense2.weight"])
    c = train_run(RunConfig(seed=None, **SHORT))
    d = train_run(RunConfig(seed=None, **SHORT))
    assert not np.array_equal(c.params["dense1.weight"], d.params["dense1.weight"])


def test_a_diverging_run_is_recorded_not_raised():
    r = train_run(RunConfig(seed=42, activation="tanh", center=True, lr=5.0, **SHORT))
    assert r.diverged and np.isnan(r.final_test_loss) and r.final_correct == 0
    assert r.summary()["final_test_loss"] is None and r.summary()["diverged"] is True


def test_generalises_to_n_inputs_and_h_hidden_units_in_float64():
    r = train_run(RunConfig(seed=1, inputs=3, hidden=5, dtype="float64", **SHORT))
    assert r.params["dense1.weight"].shape == (5, 3) and r.params["dense1.weight"].dtype == np.float64
    assert parameter_count(3, 5) == 3 * 5 + 5 + 5 + 1


def test_uniform_init_draws_from_minus_one_to_one_after_the_default():
    default = initial_parameters(RunConfig(seed=3))
    uniform = initial_parameters(RunConfig(seed=3, init="uniform", hidden=64))
    assert all(v.abs().max() <= 1 for v in uniform.values())
    assert uniform["dense2.weight"].abs().max() > 0.5  # wider than the default's 1/sqrt(64)
    assert not np.allclose(default["dense1.weight"], initial_parameters(RunConfig(seed=3, init="uniform"))["dense1.weight"])


def test_initial_parameters_leave_the_global_torch_stream_alone():
    import torch

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    initial_parameters(RunConfig(seed=123))
    assert torch.equal(torch.rand(3), expected)


def test_float64_model_starts_from_the_float32_weights():
    a = build_model(RunConfig(seed=4))
    b = build_model(RunConfig(seed=4, dtype="float64"))
    assert np.array_equal(a.dense1.weight.detach().double().numpy(), b.dense1.weight.detach().numpy())


def test_a_linear_net_cannot_fit_xor():
    r = train_run(RunConfig(seed=2, activation="linear", lr=0.05, epochs=5))
    assert r.final_correct <= 0.8 * r.test_total  # an affine map gets at most 3 of XOR's 4 corners
