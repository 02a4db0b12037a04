import math

import pytest

from xorlab.config import ConfigError, RunConfig, check_fits_in_memory


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
