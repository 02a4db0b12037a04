"""Hostile input: every case ends in a short error on stderr, never a traceback, and
nothing already computed is lost. Driven through the command line: in-process where
file descriptors do not matter, as a subprocess where they do (closed or full
streams, a file-size limit standing in for a disk that fills up)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from conftest import install
from xorlab.config import RunConfig
from xorlab.engines import classic
from xorlab.store import FILENAME, Store, pack, unpack

TESTS = Path(__file__).resolve().parent


def assert_one_line(err: str, *words: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def xorlab(*args: str, shell_redirect: str = "", timeout: int = 300, **kw) -> subprocess.CompletedProcess:
    """`python -m xorlab ARGS` in a child process; shell_redirect is sh syntax (`>&-`)."""
    command = ['sh', '-c', f'exec "$0" -m xorlab "$@" {shell_redirect}', sys.executable, *args]
    return subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if any run is trained."""

    def refuse(*args, **kw):
        raise AssertionError("a run was trained")

    for target in ("xorlab.engines.classic.train_run", "xorlab.tutorial_log.train_run",
                   "xorlab.cli.sweep.run_chunks"):
        monkeypatch.setattr(target, refuse)


# --- files: --out is checked before anything is trained ---------------------------------

@pytest.mark.parametrize("command", ["train", "sweep"])
@pytest.mark.parametrize("bad", ["a folder", "/proc/nonexistent/x", ""])
def test_an_out_file_that_cannot_be_written_is_refused_before_training(command, bad, tmp_path, run_cli,
                                                                       no_training):
    out = str(tmp_path) if bad == "a folder" else bad
    r = run_cli(command, "--epochs", "1", "--seeds" if command == "sweep" else "--seed", "1", "--out", out)
    assert r.code == 2 and r.out == ""
    assert_one_line(r.err, f"xorlab {command}: error: argument --out")


@pytest.mark.parametrize("command", ["study", "experiment"])
def test_an_empty_out_folder_is_refused_not_taken_for_the_current_one(command, run_cli, no_training):
    args = [command] + (["activation"] if command == "experiment" else []) + ["--out", ""]
    r = run_cli(*args)
    assert r.code == 2
    assert_one_line(r.err, "--out", "empty")


def test_train_out_is_strict_json_with_nan_as_null(tmp_path, run_cli):
    out = tmp_path / "run.json"
    r = run_cli("train", "--seed", "42", "--activation", "tanh", "--center", "--lr", "1", "--epochs", "2",
                "--out", out)
    assert r.code == 0 and "nan" in r.out  # this run diverges

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    record = json.loads(out.read_text(), parse_constant=no_constants)
    assert record["diverged"] is True
    assert None in [v for row in record["params"]["dense1.weight"] for v in row]
    assert not list(tmp_path.glob(".*.tmp"))


# --- the results store ------------------------------------------------------------------

def rerun_counting_training(run_cli, tmp_path, monkeypatch):
    """Run the tiny experiment again, its section's manifest removed (else the finished
    section is reused without reading its runs); return its result and the configs trained."""
    (tmp_path / "tiny" / "manifest.json").unlink()
    trained = []
    real = classic.train_run
    monkeypatch.setattr(classic, "train_run", lambda config, *a, **kw: trained.append(config) or real(config, *a, **kw))
    return tiny_experiment(run_cli, tmp_path), trained


def tiny_experiment(run_cli, out: Path):
    return run_cli("experiment", "tiny", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", out)


def test_a_damaged_row_is_trained_again_not_fatal(tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    first = tiny_experiment(run_cli, tmp_path)
    assert first.code == 0
    with closing(sqlite3.connect(tmp_path / FILENAME)) as db, db:
        keys = [k for (k,) in db.execute("SELECT key FROM runs ORDER BY key")]
        db.execute("UPDATE runs SET layout = 'not json' WHERE key = ?", (keys[0],))
        db.execute("UPDATE runs SET arrays = substr(arrays, 1, 10) WHERE key = ?", (keys[1],))
    again, trained = rerun_counting_training(run_cli, tmp_path, monkeypatch)
    assert again.code == 0, again.err
    assert len(trained) == 2  # the two damaged runs, and only those
    assert again.out == first.out  # the same numbers as before the damage
    with Store(tmp_path / FILENAME) as store:
        assert len(store) == len(keys)
    (tmp_path / "tiny" / "manifest.json").unlink()
    assert tiny_experiment(run_cli, tmp_path).code == 0 and len(trained) == 2  # now whole again


def impossible(arrays: dict, how: str) -> dict:
    """A stored run's arrays edited as a careless or hostile hand would."""
    a = {k: v.copy() for k, v in arrays.items()}
    if how == "correct over the total":
        a["test_correct"][-1] = 999999
    elif how == "negative correct":
        a["test_correct"][0] = -3
    elif how == "nan loss, not diverged":
        a["test_loss"][-1] = np.nan
    elif how == "curve too short":
        a["test_loss"] = a["test_loss"][:-1]
    elif how == "weights of another shape":
        a["param:dense1.weight"] = a["param:dense1.weight"][:, :1]
    elif how == "correct as floats":
        a["test_correct"] = a["test_correct"].astype(np.float64) + 0.5
    return a


IMPOSSIBLE = ["correct over the total", "negative correct", "nan loss, not diverged", "curve too short",
              "weights of another shape", "correct as floats", "final column edited"]


@pytest.mark.parametrize("how", IMPOSSIBLE)
def test_a_row_with_impossible_numbers_is_trained_again_never_reported(how, tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    first = tiny_experiment(run_cli, tmp_path)
    assert first.code == 0
    with closing(sqlite3.connect(tmp_path / FILENAME)) as db, db:
        key, layout, blob = db.execute("SELECT key, layout, arrays FROM runs ORDER BY key").fetchone()
        if how == "final column edited":
            db.execute("UPDATE runs SET final_correct = 999999, final_accuracy = 1999.998 WHERE key = ?", (key,))
        else:
            layout, blob = pack(impossible(unpack(layout, blob), how))
            db.execute("UPDATE runs SET layout = ?, arrays = ? WHERE key = ?", (layout, blob, key))
    again, trained = rerun_counting_training(run_cli, tmp_path, monkeypatch)
    assert again.code == 0, again.err
    assert len(trained) == 1  # the edited run, and only it
    assert again.out == first.out  # never averaged into the report
    with Store(tmp_path / FILENAME) as store:
        (result,) = [r for r in store.get([c for c in trained], "classic").values()]
        assert 0 <= result.final_correct <= result.test_total


@pytest.mark.parametrize("command", ["experiment", "study"])
def test_a_store_with_damaged_pages_is_one_line_naming_it_and_what_to_do(command, tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    assert tiny_experiment(run_cli, tmp_path).code == 0
    path = tmp_path / FILENAME
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
        (page,) = db.execute("PRAGMA page_size").fetchone()
    size = path.stat().st_size
    with open(path, "r+b") as f:  # everything after the header page: garbage
        f.seek(page)
        f.write(b"\xff" * (size - page))
    (tmp_path / "tiny" / "manifest.json").unlink()  # else the finished section is reused without reading runs
    args = [command] + (["tiny"] if command == "experiment" else [])
    r = run_cli(*args, "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", tmp_path)
    assert r.code == 1  # found at the first read of its runs, before anything is trained
    assert_one_line(r.err, str(path), "malformed", "move it away")
    assert path.stat().st_size == size  # left for the user to inspect or recover


def make_read_only(path: Path, monkeypatch) -> None:
    """The store file as the user would meet it read-only: by its mode where that binds
    (not root), else by the immutable attribute; failing both, SQLite opens it read-only."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0:
        return
    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda p, *a, **kw: real(f"file:{p}?mode=ro", *a, uri=True, **kw))


def undo_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.parent.chmod(0o755)
    path.chmod(0o644)


@pytest.mark.parametrize("command", ["experiment", "study"])
def test_a_read_only_store_is_one_line_naming_it_and_what_to_do(command, tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny")
    out = tmp_path / "out"
    assert run_cli("experiment", "tiny", "--seeds", "1", "--epochs", "1", "--engine", "classic",
                   "--out", out).code == 0
    store = out / FILENAME
    with closing(sqlite3.connect(store)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    make_read_only(store, monkeypatch)
    try:
        monkeypatch.setattr(classic, "train_run", lambda *a, **kw: pytest.fail("trained into a read-only store"))
        args = [command] + (["tiny"] if command == "experiment" else [])
        r = run_cli(*args, "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", out)
    finally:
        undo_read_only(store)
    assert r.code == 2
    assert_one_line(r.err, str(store), "writable")


# --- streams and disk --------------------------------------------------------------------

def test_a_closed_stdout_is_one_line():
    r = xorlab("train", "--epochs", "1", shell_redirect=">&-")
    assert r.returncode == 2
    assert_one_line(r.stderr, "standard output is closed")


def test_a_full_stdout_is_one_line_for_train_and_sweep():
    with open("/dev/full", "w") as full:
        train = xorlab("train", "--epochs", "1", stdout=full)
        sweep = xorlab("sweep", "--seeds", "2", "--epochs", "1", "--quiet", stdout=full)
    for r, prog in ((train, "xorlab train"), (sweep, "xorlab sweep")):
        assert r.returncode == 1
        assert_one_line(r.stderr, prog, "cannot write to standard output", "No space left")


def test_a_closed_stdin_for_the_quiz_is_one_line():
    r = xorlab("quiz", "--questions", "1", shell_redirect="<&-", stdout=subprocess.DEVNULL)
    assert r.returncode == 2
    assert_one_line(r.stderr, "standard input is closed", "--answers")


def test_answers_that_cannot_be_read_are_one_line(run_cli):
    r = run_cli("quiz", "--answers", "/proc/self/mem")
    assert r.code == 2
    assert_one_line(r.err, "cannot read answers from '/proc/self/mem'")


STUDY_UNDER_A_SIZE_LIMIT = """
import resource, sys
sys.path.insert(0, {tests!r})
import pytest
import conftest
from xorlab.cli import main

conftest.install(pytest.MonkeyPatch(), "tiny", "centre")
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))  # no file may grow past this
sys.exit(main(["study", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", {out!r}]))
"""


def test_a_disk_that_fills_while_the_report_is_written_leaves_no_report_and_keeps_the_runs(
        tmp_path, monkeypatch, run_cli):
    install(monkeypatch, "tiny", "centre")  # three figures: a report bigger than any other file
    out = tmp_path / "study"
    assert run_cli("study", "--seeds", "2", "--epochs", "1", "--engine", "classic", "--out", out).code == 0
    report = out / "report.html"
    report_size = report.stat().st_size
    report.unlink()
    (out / "report.md").unlink()
    # room for every other file the study rewrites, and for SQLite's 32 KiB shared-memory index
    limit = max([p.stat().st_size for p in out.rglob("*") if p.is_file()] + [32768]) + 4096
    assert limit < report_size  # the report is the one file that cannot be written
    with Store(out / FILENAME) as store:
        runs = len(store)

    child = subprocess.run([sys.executable, "-c", STUDY_UNDER_A_SIZE_LIMIT.format(
        tests=str(TESTS), limit=limit, out=str(out))], capture_output=True, text=True, timeout=300)
    assert child.returncode == 1
    assert_one_line(child.stderr, "cannot write", "report.html", "runs are kept", "run the same command again")
    assert not report.exists()  # no 0-byte or cut report
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    with Store(out / FILENAME) as store:
        assert len(store) == runs


# --- messages ----------------------------------------------------------------------------

def test_an_unknown_option_before_the_command_is_named(run_cli):
    r = run_cli("--bogus")
    assert r.code == 2
    assert_one_line(r.err, "--bogus")


def test_a_negative_seed_range_explains_the_range_form(run_cli, no_training):
    r = run_cli("sweep", "--seeds", "-1:3")
    assert r.code == 2
    assert_one_line(r.err, "argument --seeds", "-1:3", "A:B seeds A to B-1")


def test_sweep_names_seeds_not_seed(run_cli, no_training):
    r = run_cli("sweep", "--seeds", "9223372036854775807:9223372036854775809", "--epochs", "1")
    assert r.code == 2
    line = assert_one_line(r.err, "argument --seeds")
    assert "--seed:" not in line


# --- the environment and the operating system's paths -------------------------------------

NOT_UTF8 = b"r\xe9sultats \xff\xfe"  # Latin-1 and stray bytes: a valid Linux name, not UTF-8

TINY_COMMAND = """
import sys
sys.path.insert(0, {tests!r})
import pytest
import conftest
from xorlab.cli import main

conftest.install(pytest.MonkeyPatch(), "tiny")
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["train", "sweep", "experiment", "study"])
def test_out_may_be_any_path_the_os_accepts(command, tmp_path):
    out = os.fsencode(tmp_path) + b"/" + NOT_UTF8 + (b".json" if command in ("train", "sweep") else b"")
    args = {"train": [b"train", b"--epochs", b"1"], "sweep": [b"sweep", b"--seeds", b"2", b"--epochs", b"1"],
            "experiment": [b"experiment", b"tiny", b"--seeds", b"2", b"--epochs", b"1", b"--engine", b"classic"],
            "study": [b"study", b"--seeds", b"2", b"--epochs", b"1", b"--engine", b"classic"]}[command]
    child = subprocess.run([sys.executable.encode(), b"-c", TINY_COMMAND.format(tests=str(TESTS)).encode(), *args,
                            b"--out", out], capture_output=True, timeout=300)
    assert child.returncode == 0, child.stderr.decode(errors="replace")
    assert b"Traceback" not in child.stderr
    assert os.path.exists(out)
    if command == "study":
        report = (out + b"/report.md")
        text = open(report, encoding="utf-8").read()  # the report is UTF-8 whatever the path
        assert "r\\xe9sultats \\xff\\xfe" in text


BAD_ENVIRONMENT = [{"NUMBA_NUM_THREADS": "0"}, {"NUMBA_NUM_THREADS": "garbage"}, {"NUMBA_NUM_THREADS": "100000"},
                   {"NUMBA_NUM_THREADS": "-3"}, {"OMP_NUM_THREADS": "0"}, {"OMP_NUM_THREADS": "abc"},
                   {"MKL_NUM_THREADS": "-1"}, {"NUMBA_THREADING_LAYER": "bogus"},
                   {"NUMBA_CACHE_DIR": "/proc/nope"}, {"XDG_CACHE_HOME": "/proc/nope"},
                   {"MPLCONFIGDIR": "/proc/nope"}, {"HOME": "/nonexistent"},
                   {"LANG": "C", "LC_ALL": "C"}, {"LC_ALL": "xx_XX.bogus"}, {"PYTHONIOENCODING": "ascii"}]


@pytest.mark.parametrize("env", BAD_ENVIRONMENT, ids=[" ".join(f"{k}={v}" for k, v in e.items())
                                                      for e in BAD_ENVIRONMENT])
def test_odd_environment_values_give_a_working_program_or_one_line(env):
    for args in (["--help"], ["sweep", "--seeds", "2", "--epochs", "1", "--quiet"]):
        r = xorlab(*args, env={**os.environ, **env}, stdout=subprocess.PIPE)
        assert "Traceback" not in r.stderr and r.returncode == 0, r.stderr
        assert len(r.stderr.strip().splitlines()) <= len(env), r.stderr  # at most a line per odd value
        if args[0] == "sweep":
            assert len(r.stdout.splitlines()) == 2  # both runs


def test_repeated_grid_values_train_once_and_say_so(tmp_path, run_cli):
    out = tmp_path / "runs.jsonl"
    r = run_cli("sweep", "--lr", "0.1", "0.10", "1e-1", "--center", "centred", "centered", "--activation", "tanh",
                "tanh", "--seeds", "2", "--epochs", "1", "--out", out)
    assert r.code == 0, r.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["lr"], x["center"], x["activation"], x["seed"]) for x in lines] == \
        [(0.1, True, "tanh", 0), (0.1, True, "tanh", 1)]
    note = [line for line in r.err.splitlines() if "merged" in line]
    assert len(note) == 1 and "--lr" in note[0] and "--center centred centred is centred" in note[0]
    assert "--activation tanh tanh is tanh" in note[0]
    assert "│ 2 " in r.err or " 2 │" in r.err  # the summary counts 2 runs, not 12


def test_whole_rows_of_any_shape_are_read_back_not_taken_for_damaged(tmp_path):
    configs = [RunConfig(seed=s, epochs=2, layers=2, batch_size=20, hidden=3, inputs=3) for s in range(2)]
    with Store(tmp_path / FILENAME) as store:
        store.run(configs, engine="classic")
        assert len(store.get(configs, "classic")) == len(configs)
