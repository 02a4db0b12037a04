import json
import math

import pytest

from xorlab.config import FIELD_FLAGS, KNOB_DEFAULTS, ConfigError, RunConfig
from xorlab.engines.plan import check_fits_in_memory


def test_defaults_are_the_tutorials_settings():
    c = RunConfig()
    assert (c.inputs, c.hidden, c.activation, c.init, c.center) == (2, 2, "sigmoid", "default", False)
    assert (c.lr, c.epochs, c.seed, c.dtype) == (0.01, 100, None, "float32")
    assert (c.batch_size, c.train_batches, c.test_batches, c.test_total) == (10, 500, 50, 500)


def test_config_is_hashable_printable_and_round_trips_through_json():
    c = RunConfig(seed=3, activation="tanh", center=True, lr=0.1)
    assert hash(c) == hash(RunConfig(seed=3, activation="tanh", center=True, lr=0.1))
    assert "activation='tanh'" in repr(c)
    assert RunConfig.from_dict(c.to_dict()) == c
    assert c.key() == RunConfig.from_dict(c.to_dict()).key()
    assert c.key() != c.replace(seed=4).key()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"activation": "softmax"}, "activation"),
        ({"init": "xavier"}, "init"),
        ({"lr": 0}, "lr"),
        ({"lr": -0.1}, "lr"),
        ({"lr": math.nan}, "lr"),
        ({"lr": math.inf}, "lr"),
        ({"epochs": 0}, "epochs"),
        ({"inputs": 0}, "inputs"),
        ({"hidden": 0}, "hidden"),
        ({"hidden": 2.5}, "hidden"),
        ({"seed": -1}, "seed"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_invalid_settings_name_their_field(changes, field):
    with pytest.raises(ConfigError) as err:
        RunConfig(**changes)
    assert err.value.field == field


def test_unknown_settings_are_rejected():
    with pytest.raises(ConfigError, match="unknown"):
        RunConfig.from_dict({"inputs": 2, "colour": "red"})


def test_sizes_beyond_memory_are_refused_before_allocating():
    with pytest.raises(ConfigError) as err:
        check_fits_in_memory(RunConfig(inputs=10**8))
    assert err.value.field == "inputs"
    with pytest.raises(ConfigError) as err:
        check_fits_in_memory(RunConfig(hidden=10**12))
    assert err.value.field == "hidden"
    check_fits_in_memory(RunConfig(inputs=8, hidden=16))



def test_the_jax_planner_counts_the_whole_block_a_single_run_takes(monkeypatch):
    """One run on the jax engine allocates a block of MIN_LANES lanes: a run that fits
    one at a time but not as a block is refused by that engine (with the way out) and
    planned by the classic one."""
    from xorlab.engines import plan

    c = RunConfig(seed=0, inputs=8, hidden=16)
    monkeypatch.setattr(plan, "available_memory_bytes", lambda: plan.lane_bytes(c) * (plan.MIN_LANES - 1))
    with pytest.raises(ConfigError, match="--engine classic one at a time"):
        plan.plan([c], engine="jax")
    assert plan.plan([c], engine="classic") == [[0]]
    monkeypatch.setattr(plan, "available_memory_bytes", lambda: plan.lane_bytes(c) * plan.MIN_LANES)
    assert plan.plan([c], engine="jax") == [[0]]

# --- the knobs beyond the tutorial's recipe ----------------------------------------------

# JSON and keys of configs as xorlab wrote them before the knobs existed (computed with
# that code): stores and replay lines of those days must still match.
OLD_KEYS = {
    "tutorial-seed-3": ({"seed": 3},
        '{"activation": "sigmoid", "center": false, "dtype": "float32", "epochs": 100, "hidden": 2, "init": "default", "inputs": 2, "lr": 0.01, "seed": 3}',
        "2e625f0d6bd0f521"),
    "unseeded": ({},
        '{"activation": "sigmoid", "center": false, "dtype": "float32", "epochs": 100, "hidden": 2, "init": "default", "inputs": 2, "lr": 0.01, "seed": null}',
        "6a5e6b5846e334bc"),
    "tanh-centred-float64": ({"seed": 42, "activation": "tanh", "center": True, "lr": 0.1, "dtype": "float64"},
        '{"activation": "tanh", "center": true, "dtype": "float64", "epochs": 100, "hidden": 2, "init": "default", "inputs": 2, "lr": 0.1, "seed": 42}',
        "35bd9da0052b1bb3"),
    "wide-uniform": ({"seed": 7, "inputs": 3, "hidden": 4, "init": "uniform", "epochs": 300},
        '{"activation": "sigmoid", "center": false, "dtype": "float32", "epochs": 300, "hidden": 4, "init": "uniform", "inputs": 3, "lr": 0.01, "seed": 7}',
        "ec85b3b4b4ca2055"),
}


def test_the_knobs_default_to_the_tutorials_recipe():
    c = RunConfig()
    assert (c.optimizer, c.momentum, c.batch_size, c.noise, c.weight_decay, c.layers) == ("sgd", 0.9, 10, 0.1, 0.0, 1)
    assert c.knobs() == {}
    assert set(KNOB_DEFAULTS) <= set(FIELD_FLAGS)


@pytest.mark.parametrize("config, json_text, key", OLD_KEYS.values(), ids=list(OLD_KEYS))
def test_a_config_at_the_tutorials_knobs_keeps_its_json_and_key(config, json_text, key):
    c = RunConfig(**config)
    assert c.to_json() == json_text and c.key() == key
    assert RunConfig.from_dict(json.loads(json_text)) == c  # an old row reads back with the defaults


@pytest.mark.parametrize("changes", [
    {"optimizer": "adam"}, {"optimizer": "momentum"}, {"optimizer": "nesterov", "momentum": 0.5},
    {"batch_size": 1}, {"batch_size": 500}, {"noise": 0.0}, {"noise": 0.3}, {"weight_decay": 1e-3},
    {"layers": 3}, {"optimizer": "adam", "batch_size": 50, "noise": 0, "weight_decay": 0.01, "layers": 2},
])
def test_a_non_default_knob_is_in_the_json_and_the_key_and_round_trips(changes):
    c = RunConfig(seed=1, **changes)
    stored = json.loads(c.to_json())
    assert set(stored) - set(json.loads(RunConfig(seed=1).to_json())) == set(c.knobs())
    assert set(c.knobs()) == {k for k, v in changes.items() if v != KNOB_DEFAULTS[k]}
    assert c.key() != RunConfig(seed=1).key()
    assert RunConfig.from_dict(stored) == c and RunConfig.from_dict(stored).key() == c.key()


def test_an_integer_amplitude_is_the_same_setting_as_its_float():
    assert RunConfig(noise=0) == RunConfig(noise=0.0) and RunConfig(noise=0).key() == RunConfig(noise=0.0).key()
    assert RunConfig(weight_decay=1).to_json() == RunConfig(weight_decay=1.0).to_json()
    assert isinstance(RunConfig(noise=1).noise, float)


@pytest.mark.parametrize("changes, field", [
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"momentum": 1.0, "optimizer": "momentum"}, "momentum"),
    ({"momentum": -0.1, "optimizer": "nesterov"}, "momentum"),
    ({"momentum": math.nan, "optimizer": "momentum"}, "momentum"),
    ({"momentum": 0.5}, "momentum"),  # plain SGD has no momentum
    ({"momentum": 0.5, "optimizer": "adam"}, "momentum"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 501}, "batch_size"),
    ({"batch_size": 2.0}, "batch_size"),
    ({"noise": -0.1}, "noise"),
    ({"noise": 10.5}, "noise"),
    ({"noise": math.inf}, "noise"),
    ({"noise": "0.1"}, "noise"),
    ({"weight_decay": -1e-3}, "weight_decay"),
    ({"weight_decay": math.nan}, "weight_decay"),
    ({"weight_decay": True}, "weight_decay"),
    ({"layers": 0}, "layers"),
    ({"layers": 4}, "layers"),
])
def test_invalid_knobs_name_their_field(changes, field):
    with pytest.raises(ConfigError) as err:
        RunConfig(**changes)
    assert err.value.field == field


def test_the_momentum_optimizers_take_any_momentum_in_range():
    assert RunConfig(optimizer="momentum", momentum=0.0).momentum == 0.0
    assert RunConfig(optimizer="nesterov", momentum=0.99).knobs() == {"optimizer": "nesterov", "momentum": 0.99}


def test_a_deep_net_beyond_memory_is_refused_before_allocating():
    with pytest.raises(ConfigError) as err:
        check_fits_in_memory(RunConfig(hidden=10**7, layers=2))
    assert err.value.field == "hidden" and "layers=2" in str(err.value)
    check_fits_in_memory(RunConfig(hidden=64, layers=3))
