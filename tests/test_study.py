"""The study: experiments through the store, reuse, resume after kill -9, failures kept
apart, and the `experiment` and `study` commands."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xorlab.config import RunConfig
from xorlab.engines import classic
from xorlab.experiments.base import Findings, Scale
from xorlab.replay import train_command
from xorlab.store import FILENAME, Store
from xorlab.study import run_study
from xorlab.cli import build_parser
from xorlab.cli.train import config_from_args

from conftest import FAKES, Tiny, install

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def count_trainings(monkeypatch):
    """Count the runs the classic engine actually trains."""
    counter = {"runs": 0}
    real = classic.train_run

    def counting(config, *args, **kw):
        counter["runs"] += 1
        return real(config, *args, **kw)

    monkeypatch.setattr(classic, "train_run", counting)
    return counter


SCALE = Scale(seeds=2, epochs=1)


def stored_runs(path: Path) -> dict:
    db = sqlite3.connect(path / FILENAME)
    return {k: (status, layout, arrays) for k, status, layout, arrays in
            db.execute("SELECT key, status, layout, arrays FROM runs")}


def test_study_runs_every_experiment_in_order_and_writes_findings(tmp_path, monkeypatch):
    install(monkeypatch, "centre", "tiny")
    study = run_study(tmp_path, SCALE, engine="classic")
    assert [s.name for s in study.sections] == ["centre", "tiny"]
    tiny = study.sections[1]
    assert tiny.runs == 4 and tiny.seeds == [0, 1] and tiny.error is None
    assert tiny.figures == ["tiny/loss.png"] and (tmp_path / "tiny" / "loss.svg").exists()
    saved = json.loads((tmp_path / "tiny" / "findings.json").read_text())
    assert saved["title"] == Tiny.title and len(saved["numbers"]["test_loss"]) == 4
    assert len(stored_runs(tmp_path)) == 5


def test_a_second_study_trains_nothing_and_gives_the_same_numbers(tmp_path, monkeypatch, count_trainings):
    install(monkeypatch, "tiny", "centre")
    first = run_study(tmp_path, SCALE, engine="classic")
    assert count_trainings["runs"] == 5
    second = run_study(tmp_path, SCALE, engine="classic")
    assert count_trainings["runs"] == 5
    for a, b in zip(first.sections, second.sections):
        assert a.findings.numbers == b.findings.numbers and a.findings.answer == b.findings.answer


def test_a_failing_experiment_keeps_the_others(tmp_path, monkeypatch):
    install(monkeypatch, "tiny", "broken", "centre")
    study = run_study(tmp_path, SCALE, engine="classic")
    assert [s.error is None for s in study.sections] == [True, False, True]
    assert "RuntimeError: analysis exploded" in study.sections[1].error
    assert study.failed == [study.sections[1]]
    assert (tmp_path / "centre" / "findings.json").exists()
    assert len(stored_runs(tmp_path)) == 6  # the failing experiment's run is kept too


def test_train_command_replays_the_stored_run(tmp_path, run_cli):
    config = RunConfig(seed=4, activation="tanh", center=True, lr=0.1, epochs=1)
    line = train_command(config)
    assert line == "xorlab train --seed 4 --activation tanh --lr 0.1 --epochs 1 --center"
    out = tmp_path / "run.json"
    r = run_cli(*line.split()[1:], "--out", out)
    assert r.code == 0
    expected = classic.train_run(config)
    assert json.loads(out.read_text())["final_correct"] == expected.final_correct


@pytest.mark.parametrize("changes, flags", [
    ({}, ""),
    ({"optimizer": "adam"}, " --optimizer adam"),
    ({"optimizer": "momentum"}, " --optimizer momentum"),
    ({"optimizer": "nesterov", "momentum": 0.5}, " --optimizer nesterov --momentum 0.5"),
    ({"batch_size": 50, "noise": 0}, " --batch-size 50 --noise 0.0"),
    ({"weight_decay": 1e-05, "layers": 3}, " --weight-decay 1e-05 --layers 3"),
    ({"optimizer": "sgd", "momentum": 0.9, "batch_size": 10, "noise": 0.1, "weight_decay": 0, "layers": 1}, ""),
])
def test_replay_lines_name_exactly_the_knobs_away_from_their_defaults(changes, flags):
    config = RunConfig(seed=4, activation="tanh", lr=0.1, **changes)
    line = train_command(config)
    assert line == "xorlab train --seed 4 --activation tanh --lr 0.1" + flags
    args = build_parser().parse_args(line.split()[1:])
    assert config_from_args(args) == config  # the line is the run's config, read back by the CLI


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
import pytest
import conftest
from xorlab import store
from xorlab.experiments.base import Scale
from xorlab.study import run_study

mp = pytest.MonkeyPatch()
conftest.install(mp, "tiny")
real, calls = store.run_many, []

def hang_on_second_chunk(configs, **kw):
    calls.append(configs)
    if len(calls) == 2:
        time.sleep(600)  # killed here, with the first chunk committed
    return real(configs, **kw)

store.run_many = hang_on_second_chunk
run_study({out!r}, Scale(seeds=2, epochs=1), engine="classic", chunk_runs=2)
"""


def run_until_first_chunk_then_kill(out: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(tests=str(TESTS), out=str(out))],
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read().decode()
            if (out / FILENAME).exists():
                try:
                    if len(stored_runs(out)) >= 2:
                        break
                except sqlite3.OperationalError:
                    pass  # table not created yet
            time.sleep(0.05)
        else:
            raise AssertionError("the first chunk was never committed")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def test_resume_after_kill_9_gives_the_numbers_of_an_uninterrupted_study(tmp_path, monkeypatch, count_trainings):
    install(monkeypatch, "tiny")
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    run_until_first_chunk_then_kill(killed)
    assert len(stored_runs(killed)) == 2

    resumed = run_study(killed, SCALE, engine="classic", chunk_runs=2)
    assert count_trainings["runs"] == 2  # only what the killed study had not committed
    uninterrupted = run_study(clean, SCALE, engine="classic", chunk_runs=2)
    for a, b in zip(resumed.sections, uninterrupted.sections):
        assert a.findings.numbers == b.findings.numbers
        assert a.findings.tables == b.findings.tables
    assert stored_runs(killed) == stored_runs(clean)


# Reuse: a section whose outputs are complete and current is not run again.

@pytest.fixture
def count_writes(monkeypatch):
    """Count the sections whose findings (figures included) are written."""
    import xorlab.study as study_module

    written, real = [], study_module.write_findings

    def counting(exp, findings, out_dir):
        written.append(exp.name)
        return real(exp, findings, out_dir)

    monkeypatch.setattr(study_module, "write_findings", counting)
    return written


def test_a_second_study_reuses_finished_sections_without_redrawing_them(tmp_path, monkeypatch, count_writes):
    install(monkeypatch, "tiny", "broken", "centre")
    first = run_study(tmp_path, SCALE, engine="classic")
    assert count_writes == ["tiny", "centre"]
    second = run_study(tmp_path, SCALE, engine="classic")
    assert count_writes == ["tiny", "centre"]  # nothing re-drawn; the failed one ran again
    assert [s.reused for s in second.sections] == [True, False, True]
    for a, b in zip(first.sections, second.sections):
        if a.error is None:
            assert (b.findings.answer, b.findings.tables, b.findings.numbers) == \
                (a.findings.answer, a.findings.tables, a.findings.numbers)
            assert (b.figures, b.runs, b.seeds, b.replay) == (a.figures, a.runs, a.seeds, a.replay)
    assert "analysis exploded" in second.sections[1].error


def test_a_section_runs_again_when_what_made_it_changed(tmp_path, monkeypatch, count_writes):
    import xorlab.manifest as manifest_module

    install(monkeypatch, "tiny", "centre")
    run_study(tmp_path, SCALE, engine="classic")
    count_writes.clear()
    (tmp_path / "tiny" / "loss.svg").write_text("<svg/>")  # an output changed by hand
    run_study(tmp_path, SCALE, engine="classic")
    assert count_writes == ["tiny"]
    run_study(tmp_path, Scale(seeds=3, epochs=1), engine="classic")  # another scale
    assert count_writes == ["tiny", "tiny", "centre"]
    monkeypatch.setattr(manifest_module, "__version__", "0.0.0-other")  # another xorlab
    run_study(tmp_path, Scale(seeds=3, epochs=1), engine="classic")
    assert count_writes[3:] == ["tiny", "centre"]
    (tmp_path / "centre" / "manifest.json").write_text("{not json")
    monkeypatch.setattr(manifest_module, "__version__", "0.0.0-other")
    run_study(tmp_path, Scale(seeds=3, epochs=1), engine="classic")
    assert count_writes[5:] == ["centre"]


def test_an_interrupted_section_leaves_no_manifest_and_runs_again(tmp_path, monkeypatch, count_writes):
    install(monkeypatch, "tiny")
    run_study(tmp_path, SCALE, engine="classic")
    manifest = tmp_path / "tiny" / "manifest.json"
    assert manifest.exists()

    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(Tiny, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_study(tmp_path, Scale(seeds=3, epochs=1), engine="classic")
    assert not manifest.exists()


# The commands, in-process.

def test_experiment_prints_tables_and_answer_and_writes_findings(tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    r = run_cli("experiment", "tiny", "--seeds", "2", "--epochs", "1", "--engine", "classic",
                "--out", tmp_path)
    assert r.code == 0, r.err
    assert "success" in r.out and "Best final loss" in r.out and "sigmoid" in r.out
    assert str(tmp_path / "tiny") in r.out
    assert (tmp_path / "tiny" / "loss.png").exists() and (tmp_path / FILENAME).exists()


def test_unknown_experiment_is_one_line_listing_the_names(tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny", "centre")
    r = run_cli("experiment", "activtion", "--out", tmp_path)
    assert r.code == 2 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "activtion" in lines[0] and "tiny, centre" in lines[0]
    assert not (tmp_path / FILENAME).exists()


@pytest.mark.parametrize("args", [["--seeds", "0"], ["--engine", "fast"], ["--epochs", "x"]])
def test_bad_study_options_are_one_line_exit_2(args, tmp_path, run_cli):
    r = run_cli("study", "--out", tmp_path, *args)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_study_command_writes_the_report_and_says_where(tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny", "centre")
    r = run_cli("study", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", tmp_path)
    assert r.code == 0, r.err
    assert str(tmp_path / "report.html") in r.out and (tmp_path / "report.md").exists()
    assert "Experiment 1 (activation units)" in r.out
    again = run_cli("study", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", tmp_path)
    assert again.code == 0 and again.out.count("reused") == 2


def test_study_with_a_failing_experiment_exits_non_zero_after_the_report(tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "broken", "tiny")
    r = run_cli("study", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", tmp_path)
    assert r.code == 1 and "broken" in r.err and "Traceback" not in r.err
    html = (tmp_path / "report.html").read_text()
    assert "analysis exploded" in html and "Best final loss" in html


def test_ctrl_c_keeps_the_stored_runs_and_says_how_to_resume(tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    real, calls = classic.train_run, []

    def interrupt_on_third(config, *args, **kw):
        calls.append(config)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(config, *args, **kw)

    monkeypatch.setattr(classic, "train_run", interrupt_on_third)
    monkeypatch.setattr("xorlab.store.CHUNK_RUNS", 1)
    r = run_cli("study", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", tmp_path)
    assert r.code == 130 and "Traceback" not in r.err
    assert "2 finished runs are kept" in r.err and "again to resume" in r.err
    with Store(tmp_path / FILENAME) as store:
        assert len(store) == 2


def test_progress_bar_counts_runs_and_stays_silent_when_quick():
    import io

    from rich.console import Console

    from xorlab.progress import RunProgress, speed

    out = io.StringIO()
    bar = RunProgress(Console(file=out, width=100), delay_s=0)
    advance = bar.task("tiny", 10)
    advance(4)  # found stored
    advance(3)
    bar.stop()
    assert "tiny" in out.getvalue() and "7/10" in out.getvalue()

    fractions = io.StringIO()
    bar = RunProgress(Console(file=fractions, width=100), delay_s=0)
    advance = bar.task("parts", 4913)
    for _ in range(300):  # an engine reporting 300 spans of a 4913-run piece
        advance(4913 / 300)
    bar.stop()
    assert "4913/4913" in fractions.getvalue()

    quiet = io.StringIO()
    bar = RunProgress(Console(file=quiet, width=100), delay_s=60)
    bar.task("tiny", 10)(10)
    bar.stop()
    assert quiet.getvalue() == ""
    assert speed(30, 60, 10.0) == {"rate": "3.0 runs/s", "eta": "ETA 0:20"}


def test_one_bar_per_experiment_whose_total_is_every_run_it_asked_for(tmp_path, monkeypatch):
    """An experiment that asks for runs several times (a grid, then refinements) shows one
    bar, not one per request."""
    import io

    from rich.console import Console

    from xorlab.progress import RunProgress

    class Refining(Tiny):
        name = "refining"

        def run(self, lab, scale):
            for seeds in ([0, 1, 2], [3], [4, 5]):
                lab.run([RunConfig(epochs=1, seed=s) for s in seeds])
            return Findings(answer="done")

    monkeypatch.setitem(FAKES, "refining", Refining())
    install(monkeypatch, "refining", "tiny")
    out = io.StringIO()
    bar = RunProgress(Console(file=out, width=100), delay_s=0)
    run_study(tmp_path, Scale(seeds=2, epochs=1), engine="classic", progress=bar)
    bar.stop()
    text = out.getvalue()
    assert "6/6" in text and "4/4" in text
    assert {m.group(1) for m in re.finditer(r"\d+/(\d+)", text)} == {"6", "4"}  # no stray bars


@pytest.mark.parametrize("command", ["study", "experiment"])
@pytest.mark.parametrize("bad", ["a file", "not a database", "another schema"])
def test_an_unusable_output_folder_is_one_line_exit_2(command, bad, tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    out = tmp_path / "out"
    if bad == "a file":
        out.write_text("notes")
    else:
        out.mkdir()
        if bad == "not a database":
            (out / FILENAME).write_text("this is not SQLite " * 100)
        else:
            sqlite3.connect(out / FILENAME).execute("CREATE TABLE runs (key TEXT)").connection.commit()
    args = [command] + (["tiny"] if command == "experiment" else []) + ["--out", out]
    r = run_cli(*args)
    assert r.code == 2 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and "Traceback" not in r.err
