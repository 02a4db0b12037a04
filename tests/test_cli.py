import json

import pytest

from xorlab.cli import build_parser


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_command_has_help_with_defaults_and_an_example():
    for name, sub in subcommands().items():
        text = sub.format_help()
        assert "example" in text, name
        for action in sub._actions:
            if action.option_strings and action.help and action.dest not in ("help",):
                assert "(default: " in action.help, f"{name} {action.option_strings} help lacks its (default: ...)"


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--activation", "softmax"], "--activation"),
        (["--init", "xavier"], "--init"),
        (["--lr", "0"], "--lr"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--lr", "inf"], "--lr"),
        (["--epochs", "0"], "--epochs"),
        (["--inputs", "0"], "--inputs"),
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "two"], "--hidden"),
        (["--seed", "-3"], "--seed"),
        (["--inputs", "100000000"], "--inputs"),
        (["--optimizer", "rmsprop"], "--optimizer"),
        (["--momentum", "1"], "--momentum"),
        (["--momentum", "-0.1"], "--momentum"),
        (["--momentum", "nan"], "--momentum"),
        (["--momentum", "0.5"], "--momentum"),  # plain SGD has none
        (["--optimizer", "adam", "--momentum", "0.5"], "--momentum"),
        (["--batch-size", "0"], "--batch-size"),
        (["--batch-size", "501"], "--batch-size"),
        (["--batch-size", "2.5"], "--batch-size"),
        (["--noise", "-0.1"], "--noise"),
        (["--noise", "11"], "--noise"),
        (["--noise", "inf"], "--noise"),
        (["--weight-decay", "-1e-3"], "--weight-decay"),
        (["--weight-decay", "nan"], "--weight-decay"),
        (["--layers", "0"], "--layers"),
        (["--layers", "4"], "--layers"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(args, flag, run_cli):
    r = run_cli("train", *args)
    assert r.code == 2
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in r.err


@pytest.mark.parametrize("args, allowed", [
    (["--momentum", "1.5"], "0 <= value < 1"),
    (["--batch-size", "0"], "from 1 to 500"),
    (["--noise", "20"], "from 0 to 10"),
    (["--weight-decay", "-1"], ">= 0"),
    (["--layers", "5"], "from 1 to 3"),
    (["--optimizer", "lbfgs"], "sgd, momentum, nesterov, adam"),
    (["--momentum", "0.5"], "momentum and nesterov optimizers only"),
])
def test_a_bad_knob_says_what_is_allowed(args, allowed, run_cli):
    r = run_cli("train", "--seed", "1", *args)
    assert r.code == 2 and allowed in r.err.replace("'", "")


def test_invalid_choice_lists_the_allowed_values(run_cli):
    r = run_cli("train", "--activation", "softmax")
    assert all(v in r.err for v in ("sigmoid", "tanh", "relu", "linear"))


def test_unknown_command_is_a_usage_error(run_cli):
    r = run_cli("trian")
    assert r.code == 2 and "invalid choice" in r.err


def test_train_writes_its_result_as_json(tmp_path, run_cli):
    out = tmp_path / "run.json"
    r = run_cli("train", "--seed", "1", "--epochs", "2", "--inputs", "3", "--hidden", "3", "--out", out)
    assert r.code == 0 and r.out.count("Test set:") == 2
    record = json.loads(out.read_text())
    assert record["config"]["inputs"] == 3 and len(record["test_loss"]) == 2
    assert record["final_correct"] == int(r.out.strip().splitlines()[-1].split("Accuracy: ")[1].split("/")[0])


def test_module_entry_point_runs(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "xorlab", "train", "--seed", "0", "--epochs", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Test set:" in r.stdout


def test_cost_prints_every_experiment_and_trains_nothing(run_cli, monkeypatch):
    import xorlab.engines as engines
    from xorlab.experiments import names

    monkeypatch.setattr(engines, "run_many", lambda *a, **k: pytest.fail("xorlab cost trained"))
    r = run_cli("cost", "--quick", "--ms-per-unit", "2")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert [line.split()[0] for line in lines[1:-2]] == names()
    new_units = sum(float(line.split()[4]) for line in lines[1:-2])
    assert float(lines[-2].split()[2]) == pytest.approx(new_units, abs=len(names()))
    assert lines[-1].startswith("about ") and lines[-1].endswith("at 2 ms per unit")
