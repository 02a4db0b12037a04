import numpy as np
import pytest
import torch
from torch import optim

from xorlab import model
from xorlab.config import MAX_SEED, ConfigError, RunConfig
from xorlab.engines import plan, resolve, run_many
from xorlab.model import build_model, initial_parameters, parameter_count, seeded_parameters
from xorlab.engines.classic import make_optimizer, train_run

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


# --- the knobs: depth and optimizers --------------------------------------------------

@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("init", ["default", "uniform"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_seeded_parameters_replay_what_building_the_model_draws(layers, init, dtype):
    for seed in (0, 7, 2**40):
        c = RunConfig(seed=seed, inputs=3, hidden=4, init=init, layers=layers, dtype=dtype)
        fast, built = seeded_parameters(c), initial_parameters(c)
        assert list(fast) == list(built)
        assert all(torch.equal(fast[k], built[k]) and fast[k].dtype == built[k].dtype for k in built)


@pytest.mark.parametrize("shape", [(2, 2, 1), (3, 4, 2), (6, 12, 1), (5, 30, 3)])
def test_drawn_parameters_are_seeded_parameters_bit_for_bit(shape):
    """torch's generator and uniform_ replayed for many runs at once (the jax engine's
    initial weights): the same bits as torch draws, seeds past 32 bits included."""
    inputs, hidden, layers = shape
    seeds = [*range(40), 2**32 + 5, 2**40, MAX_SEED]
    configs = [RunConfig(seed=s, inputs=inputs, hidden=hidden, layers=layers, init=("uniform" if s % 3 else "default"))
               for s in seeds]
    drawn = model.drawn_parameters(configs)
    want = np.stack([np.concatenate([p.numpy().ravel() for p in seeded_parameters(c).values()]) for c in configs])
    assert drawn.dtype == np.float32 and drawn.shape == want.shape
    assert np.array_equal(drawn.view(np.uint32), want.view(np.uint32))
    # torch's rounding was recognised (one rounding where its kernels are AVX2 or
    # AVX-512, two for DEFAULT), so the replay, not the per-run fallback, made these
    assert model._fused() is not None


def test_deeper_nets_add_hidden_layers_named_in_order():
    c = RunConfig(seed=2, inputs=3, hidden=4, layers=3)
    shapes = {k: tuple(v.shape) for k, v in initial_parameters(c).items()}
    assert shapes == {"dense1.weight": (4, 3), "dense1.bias": (4,), "dense2.weight": (4, 4), "dense2.bias": (4,),
                      "dense3.weight": (4, 4), "dense3.bias": (4,), "dense4.weight": (1, 4), "dense4.bias": (1,)}
    assert parameter_count(3, 4, 3) == sum(int(np.prod(s)) for s in shapes.values())
    # Layer 1 draws first, as a script building its layers in order would: the same dense1 as one layer.
    one = initial_parameters(c.replace(layers=1))
    assert torch.equal(one["dense1.weight"], initial_parameters(c)["dense1.weight"])
    model = build_model(c)
    assert model(torch.zeros(5, 3)).shape == (5,)


def test_a_deeper_net_trains_and_returns_every_layers_parameters():
    r = train_run(RunConfig(seed=4, layers=2, hidden=3, **SHORT))
    assert set(r.params) == {f"dense{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")}
    assert r.params["dense2.weight"].shape == (3, 3) and r.params["dense3.weight"].shape == (1, 3)


@pytest.mark.parametrize("batch_size, logged", [(1, 50), (7, 8), (50, 1)])
def test_train_loss_has_one_column_per_logged_batch(batch_size, logged):
    r = train_run(RunConfig(seed=6, batch_size=batch_size, epochs=1))
    assert r.train_loss.shape == (1, logged) and np.isfinite(r.train_loss).all()
    assert r.test_total == 500  # the tutorial's test set whatever the batch size


def make_optimizer_as_written(c, params):
    """The optimizer lines a user would write for each setting."""
    return {
        "sgd": lambda: optim.SGD(params, lr=c.lr, weight_decay=c.weight_decay),
        "momentum": lambda: optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
        "nesterov": lambda: optim.SGD(params, lr=c.lr, momentum=c.momentum, nesterov=True, weight_decay=c.weight_decay),
        "adam": lambda: optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay),
    }[c.optimizer]()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_the_optimizer_is_torch_optims_with_the_runs_settings(optimizer, weight_decay):
    c = RunConfig(optimizer=optimizer, weight_decay=weight_decay, lr=0.05,
                  momentum=0.8 if optimizer in ("momentum", "nesterov") else 0.9)
    got = make_optimizer(c, [torch.nn.Parameter(torch.zeros(2))])
    want = make_optimizer_as_written(c, [torch.nn.Parameter(torch.zeros(2))])
    assert type(got) is type(want) and got.defaults == want.defaults
    assert got.defaults["foreach"] is None and not got.defaults.get("fused")  # torch's default implementation


def test_the_tutorials_optimizer_is_its_own_line():
    got = make_optimizer(RunConfig(), [torch.nn.Parameter(torch.zeros(2))])
    assert got.defaults == optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.01).defaults


@pytest.mark.parametrize("changes", [{"optimizer": "adam"}, {"optimizer": "nesterov", "momentum": 0.5},
                                     {"batch_size": 50}, {"noise": 0.0}, {"weight_decay": 1e-3}, {"layers": 2}])
@pytest.mark.parametrize("engine", ["auto", "jax", "classic"])
def test_every_engine_trains_every_knob(changes, engine):
    """(How closely they agree: tests/test_engine.py.)"""
    c = RunConfig(seed=1, epochs=1, **changes)
    assert plan.plan([c], engine=resolve(engine)) == [[0]]
    [result] = run_many([c], engine=engine)
    assert result.config == c and result.engine == resolve(engine)
    assert result.train_loss.shape == (1, c.train_batches // 100 + (c.train_batches % 100 > 0))


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_a_nets_state_dict_names_each_parameter_once(layers):
    from xorlab.model import XorNet, layer_shapes

    net = XorNet(3, 4, "tanh", layers)
    names = [f"{n}.{p}" for n, _, _ in layer_shapes(3, 4, layers) for p in ("weight", "bias")]
    assert list(net.state_dict()) == names
    net.load_state_dict(XorNet(3, 4, "tanh", layers).state_dict())  # strict: no missing or extra keys
