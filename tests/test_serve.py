"""The playground's API: in-process (Starlette's TestClient), then against a real
`xorlab serve` on an ephemeral loopback port (started and stopped by a fixture)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xorlab.data import make_data
from xorlab.engines import run_many
from xorlab.serve.settings import MAX_WORK, PRESETS, Settings, parse, parse_job
from xorlab.replay import train_command

import httpx2 as httpx
from starlette.testclient import TestClient

from xorlab.serve.app import create_app

LOCAL = "http://127.0.0.1"  # the Host the server answers for (TestClient's own is "testserver")
TINY = {"activation": "tanh", "center": True, "lr": 0.1, "epochs": 3, "seeds": 4, "first_seed": 7}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "store.sqlite"), base_url=LOCAL) as c:
        yield c


def events(client, job_id: str) -> list[tuple[str, dict]]:
    """Every event of a job's stream, parsed, until the stream ends."""
    out = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[len("data: "):])))
    return out


def train(client, settings: dict) -> tuple[dict, list[tuple[str, dict]]]:
    r = client.post("/api/jobs", json=settings)
    assert r.status_code == 201, r.text
    return r.json(), events(client, r.json()["id"])


def curves(evs, runs: int, epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """Test loss and accuracy (runs, epochs) rebuilt from the `epochs` events."""
    loss, acc = np.full((runs, epochs), np.nan), np.full((runs, epochs), np.nan)
    for name, data in evs:
        if name == "epochs":
            for s in data["snapshots"]:
                for i, l, a in zip(s["runs"], s["loss"], s["accuracy"]):
                    loss[i, s["epoch"] - 1] = np.nan if l is None else l
                    acc[i, s["epoch"] - 1] = a
    return loss, acc


def test_meta_gives_the_ranges_and_presets_the_issue_names(client):
    m = client.get("/api/meta").json()
    assert m["ranges"]["lr"] == [1e-4, 10.0]
    assert m["ranges"]["epochs"] == [1, 1000] and m["ranges"]["inputs"] == [2, 6]
    assert m["ranges"]["hidden"] == [1, 16] and m["ranges"]["seeds"] == [1, 500]
    assert [c["value"] for c in m["choices"]["activation"]] == ["sigmoid", "tanh", "relu", "linear"]
    assert [c["value"] for c in m["choices"]["optimizer"]] == ["sgd", "momentum", "nesterov", "adam"]
    assert m["ranges"]["batch_size"] == [1, 500] and m["ranges"]["layers"] == [1, 3] and m["ranges"]["log"] == ["lr"]
    assert m["uses"] == {"momentum": ["momentum", "nesterov"]}
    assert m["defaults"] == Settings().to_dict() and m["defaults"]["momentum"] == 0.9
    tutorial = [k for k, p in m["presets"].items() if p["group"] == "tutorial"]
    assert tutorial == ["tutorial", "exp1", "exp2", "exp3", "exp4", "exp5", "bonus"]
    for p in m["presets"].values():
        assert parse(p["settings"]) == Settings(**p["settings"])


def test_presets_set_what_the_tutorial_says():
    assert PRESETS["tutorial"]["settings"] == Settings()
    assert PRESETS["exp5"]["settings"].first_seed == 42  # "Use random seed 42"
    assert PRESETS["exp5"]["settings"].activation == "tanh" and PRESETS["exp5"]["settings"].center
    assert PRESETS["exp2"]["settings"].init == "uniform"
    assert PRESETS["bonus"]["settings"].inputs == 3
    beyond = {k: p["settings"] for k, p in PRESETS.items() if p["group"] == "beyond"}
    assert {(s.activation, s.optimizer) for s in beyond.values()} >= {("relu", "adam"), ("sigmoid", "momentum")}
    assert any(s.inputs == 4 and s.layers == 2 for s in beyond.values())  # 4-bit parity, two layers
    assert {p["group"] for p in PRESETS.values()} == {"tutorial", "beyond"}


def test_a_job_streams_every_epoch_of_every_seed_and_equals_the_engine(client):
    info, evs = train(client, TINY)
    names = [n for n, _ in evs]
    assert names[0] == "start" and names[-1] == "done"
    settings = Settings(**{**Settings().to_dict(), **TINY})
    expected = run_many(settings.configs())
    loss, acc = curves(evs, 4, 3)
    np.testing.assert_array_equal(loss, np.round([r.test_loss for r in expected], 6))
    np.testing.assert_array_equal(acc, [r.accuracy for r in expected])
    summary = evs[-1][1]["summary"]
    k = sum(r.success for r in expected)
    assert (summary["rate"]["k"], summary["rate"]["n"]) == (k, 4)
    assert summary["rate"]["low"] <= k / 4 <= summary["rate"]["high"]
    assert sum(summary["histogram"]) == 4
    assert sum(n for _, n in summary["modes"]) == 4
    assert info["seeds"] == [7, 8, 9, 10]


def test_results_and_replay_lines_match_the_library(client):
    info, _ = train(client, TINY)
    body = client.get(f"/api/jobs/{info['id']}/results").json()
    assert body["state"] == "done"
    configs = Settings(**{**Settings().to_dict(), **TINY}).configs()
    assert [r["replay"] for r in body["results"]] == [train_command(c) for c in configs]
    assert body["results"][0]["replay"] == "xorlab train --seed 7 --activation tanh --lr 0.1 --epochs 3 --center"
    detail = client.get(f"/api/jobs/{info['id']}/runs/2").json()
    assert detail["seed"] == 9 and detail["replay"] == train_command(configs[2])
    data = make_data([9], 2, True)
    np.testing.assert_allclose(detail["test_x"], data.test_x.reshape(-1, 2), atol=1e-4)
    assert set(detail["params"]) == {"dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"}
    assert client.get(f"/api/jobs/{info['id']}/runs/4").status_code == 404


def test_a_setting_already_trained_comes_from_the_store(client, monkeypatch):
    first, evs1 = train(client, TINY)
    import xorlab.serve.jobs as jobs

    def refuse(*args, **kwargs):
        raise AssertionError("retrained a stored run")

    monkeypatch.setattr(jobs, "run_many", refuse)
    second, evs2 = train(client, TINY)
    assert evs2[-1][0] == "done" and evs2[-1][1]["cached"] == 4
    np.testing.assert_array_equal(curves(evs1, 4, 3)[0], curves(evs2, 4, 3)[0])
    assert evs1[-1][1]["summary"] == evs2[-1][1]["summary"]


def test_a_diverging_run_is_a_result_with_nulls_not_a_crash(client):
    _, evs = train(client, {"activation": "relu", "lr": 10, "epochs": 2, "seeds": 2})
    assert evs[-1][0] == "done"
    runs = evs[-1][1]["summary"]["runs"]
    assert any(r["diverged"] for r in runs)
    assert all(r["final_loss"] is None for r in runs if r["diverged"])


BAD = [
    ("lr", 20, "lr must be a number from 0.0001 to 10"),
    ("lr", 0, "lr must be a number from 0.0001 to 10"),
    ("lr", "fast", "lr must be a number"),
    ("epochs", 0, "epochs must be an integer from 1 to 1000"),
    ("epochs", 1001, "epochs must be an integer from 1 to 1000"),
    ("epochs", 2.5, "epochs must be an integer"),
    ("inputs", 7, "inputs must be an integer from 2 to 6"),
    ("hidden", 17, "hidden must be an integer from 1 to 16"),
    ("seeds", 501, "seeds must be an integer from 1 to 500"),
    ("first_seed", -1, "first_seed must be an integer from 0"),
    ("activation", "gelu", "activation must be one of sigmoid, tanh, relu, linear"),
    ("init", "xavier", "init must be one of default, uniform"),
    ("center", "yes", "center must be true or false"),
    ("speed", 3, "unknown setting 'speed'"),
    ("optimizer", "rmsprop", "optimizer must be one of sgd, momentum, nesterov, adam"),
    ("momentum", 1.0, "momentum must be a number from 0 to 0.99"),
    ("momentum", -0.1, "momentum must be a number from 0 to 0.99"),
    ("batch_size", 0, "batch_size must be an integer from 1 to 500"),
    ("batch_size", 501, "batch_size must be an integer from 1 to 500"),
    ("batch_size", 2.5, "batch_size must be an integer"),
    ("noise", -0.1, "noise must be a number from 0 to 1"),
    ("noise", 2, "noise must be a number from 0 to 1"),
    ("weight_decay", -1e-3, "weight_decay must be a number from 0 to 0.1"),
    ("weight_decay", 1, "weight_decay must be a number from 0 to 0.1"),
    ("layers", 0, "layers must be an integer from 1 to 3"),
    ("layers", 4, "layers must be an integer from 1 to 3"),
]


@pytest.mark.parametrize("field,value,message", BAD, ids=[f"{f}={v}" for f, v, _ in BAD])
def test_invalid_settings_get_422_naming_the_field_and_range(client, field, value, message):
    r = client.post("/api/jobs", json={field: value})
    assert r.status_code == 422
    assert r.json()["field"] == field and message in r.json()["error"]


def test_momentum_is_refused_where_the_optimizer_does_not_read_it(client):
    """RunConfig's own rule (config.validate), in its words, on the field's name."""
    r = client.post("/api/jobs", json={"optimizer": "adam", "momentum": 0.5})
    assert r.status_code == 422 and r.json()["field"] == "momentum"
    assert "momentum is used by the momentum and nesterov optimizers only" in r.json()["error"]
    assert parse({"optimizer": "nesterov", "momentum": 0.5}).momentum == 0.5


@pytest.mark.parametrize("field,value,message", BAD, ids=[f"b.{f}={v}" for f, v, _ in BAD])
def test_a_comparisons_b_side_gets_422_naming_b_dot_the_field(client, field, value, message):
    r = client.post("/api/jobs", json={"a": {}, "b": {field: value}})
    assert r.status_code == 422
    assert r.json()["field"] == f"b.{field}" and f"b.{message}" in r.json()["error"]


@pytest.mark.parametrize("field,value", [("seeds", 3), ("first_seed", 5)])
def test_a_comparisons_b_side_trains_a_sides_seeds(client, field, value):
    r = client.post("/api/jobs", json={"a": {"seeds": 4}, "b": {field: value}})
    assert r.status_code == 422 and r.json()["field"] == f"b.{field}"
    r = client.post("/api/jobs", json={"a": {}, "b": [1]})
    assert r.status_code == 422 and r.json() == {"error": "b must be a JSON object of settings (got [1])", "field": "b"}
    a, b = parse_job({"a": {"seeds": 4, "first_seed": 9}, "b": {"lr": 0.1}})
    assert (b.seeds, b.first_seed, b.lr) == (4, 9, 0.1)


def test_a_job_too_big_is_refused_before_it_starts(client):
    r = client.post("/api/jobs", json={"seeds": 500, "epochs": 1000, "hidden": 16, "inputs": 6})
    assert r.status_code == 422 and r.json()["field"] == "seeds"
    assert f"{MAX_WORK:,}" in r.json()["error"]
    assert parse({"seeds": 500, "epochs": 1000}).work == MAX_WORK
    assert parse({"seeds": 50, "epochs": 1000, "batch_size": 1}).work == MAX_WORK  # ten times the steps
    half = {"seeds": 250, "epochs": 1000}
    assert parse_job({"a": half, "b": {"epochs": 1000}})[1].work == MAX_WORK // 2  # both sides count
    r = client.post("/api/jobs", json={"a": half, "b": {"epochs": 1000, "layers": 2}})
    assert r.status_code == 422 and r.json()["field"] == "seeds"


def test_bad_bodies_are_refused(client):
    json_type = {"content-type": "application/json"}
    assert client.post("/api/jobs", content=b"{not json", headers=json_type).status_code == 400
    assert client.post("/api/jobs", json=[1, 2]).status_code == 422
    big = json.dumps({"activation": "tanh", "pad": "x" * 5000})
    r = client.post("/api/jobs", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_static_files_come_from_a_fixed_list(client):
    assert client.get("/").text.count('data-testid="train"') == 1
    assert client.get("/static/uPlot.iife.min.js").status_code == 200
    assert "1.6.32" in client.get("/static/uPlot.VERSION").text
    for path in ("/static/app.py", "/static/..%2Fapp.py", "/static/vendor/uplot/LICENSE", "/static/../app.py"):
        assert client.get(path).status_code == 404, path


def test_the_pages_html_carries_its_fixed_testids_and_nothing_from_another_host(client):
    """The settings' controls are built in the browser from /api/meta, so
    tests/test_serve_page.py checks them (and the page's other parts) in Chromium."""
    html = client.get("/").text
    for testid in ("train", "stop", "status", "success-rate", "loss-chart", "boundary", "replay"):
        assert f'data-testid="{testid}"' in html, testid
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from another host


def wait_state(client, job_id: str, states=("stopped", "done", "error"), timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] in states:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {status['state']} after {timeout} s")


def test_cancel_stops_a_job_after_its_epoch_and_too_many_jobs_get_429(tmp_path):
    with TestClient(create_app(tmp_path / "s.sqlite", max_running=1), base_url=LOCAL) as client:
        long = client.post("/api/jobs", json={"epochs": 1000, "seeds": 2}).json()
        busy = client.post("/api/jobs", json={"epochs": 1, "seeds": 1})
        assert busy.status_code == 429 and "try again" in busy.json()["error"]
        assert client.post(f"/api/jobs/{long['id']}/cancel", json={}).status_code == 202
        status = wait_state(client, long["id"])
        assert status["state"] == "stopped" and status["epoch"] < 1000
        assert client.get(f"/api/jobs/{long['id']}/results").status_code == 409
        assert client.post("/api/jobs", json={"epochs": 1, "seeds": 1}).status_code == 201
    assert client.get("/api/jobs/nope").status_code == 404


# ---------- a real server: `xorlab serve` in a subprocess ----------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`xorlab serve --port 0` on loopback; yields its URL; Ctrl-C (SIGINT) stops it."""
    store = tmp_path_factory.mktemp("serve") / "store.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "xorlab", "serve", "--port", "0", "--store", str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, f"no URL in {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        server_info = {"url": match.group(1), "proc": proc, "store": store, "first_line": line}
        yield server_info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    server_info["returncode"] = proc.returncode


def test_serve_prints_its_loopback_url_and_store(server):
    assert server["first_line"].startswith("xorlab playground: http://127.0.0.1:")
    assert str(server["store"]) in server["first_line"]
    r = httpx.get(server["url"] + "api/meta", timeout=10)
    assert r.status_code == 200 and r.json()["ranges"]["seeds"] == [1, 500]


def test_a_real_server_streams_a_job_to_done(server):
    with httpx.Client(base_url=server["url"], timeout=30) as c:
        job = c.post("api/jobs", json={**TINY, "seeds": 2}).json()
        with c.stream("GET", f"api/jobs/{job['id']}/events") as r:
            names = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
        assert names[0] == "start" and "epochs" in names and names[-1] == "done"


def test_a_closed_stream_cancels_its_job(server):
    with httpx.Client(base_url=server["url"], timeout=30) as c:
        job = c.post("api/jobs", json={"epochs": 1000, "seeds": 2}).json()
        with c.stream("GET", f"api/jobs/{job['id']}/events") as r:
            for line in r.iter_lines():
                if line.startswith("event: epochs"):
                    break  # the tab closes after its first epoch
        deadline = time.monotonic() + 30
        while c.get(f"api/jobs/{job['id']}").json()["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        status = c.get(f"api/jobs/{job['id']}").json()
        assert status["state"] == "stopped" and status["epoch"] < 1000
        assert status["reason"] == "its last event stream closed"


def test_ctrl_c_stops_the_server_cleanly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "xorlab", "serve", "--port", "0", "--store", str(tmp_path / "s")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
        httpx.post(url + "api/jobs", json={"epochs": 1000, "seeds": 2}, timeout=10)  # a job in flight
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err


def test_serve_warns_when_listening_beyond_loopback(run_cli, monkeypatch, tmp_path):
    from xorlab.cli import serve

    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1") and serve.is_loopback("localhost")
    assert not serve.is_loopback("0.0.0.0")
    hosts = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self: hosts.append(self.config.host))
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--store", tmp_path / "s.sqlite")
    assert result.code == 0 and hosts == ["0.0.0.0"]
    assert "warning: listening on 0.0.0.0" in result.err
    result = run_cli("serve", "--port", "0", "--store", tmp_path / "t.sqlite")
    assert result.code == 0 and hosts[-1] == "127.0.0.1" and "warning" not in result.err


def test_serve_refuses_bad_options_in_one_line(run_cli, tmp_path):
    (tmp_path / "junk.sqlite").write_text("not a database")
    for args, needle in ((("--port", "70000"), "--port"), (("--store", tmp_path / "junk.sqlite"), "--store")):
        result = run_cli("serve", *args)
        assert result.code == 2 and needle in result.err
        assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


def test_live_failure_modes_of_a_finished_job_are_its_final_ones(tmp_path):
    from xorlab.serve.jobs import Job
    from xorlab.serve.views import live_modes

    job = Job(Settings(**{**Settings().to_dict(), **TINY, "seeds": 6}))
    job.run(tmp_path / "store.sqlite")
    assert job.state == "done"
    modes = live_modes(job.configs, *job.copy(), job.sides[0])
    assert modes == job.summary["modes"] and sum(n for _, n in modes) == 6


# ---------- hostile requests: other sites, odd numbers, greedy clients ----------

EVIL = "http://evil.com"


def test_a_cross_site_page_cannot_start_or_cancel_a_job(tmp_path):
    with TestClient(create_app(tmp_path / "s.sqlite", max_running=1), base_url=LOCAL) as client:
        simple = {"origin": EVIL, "content-type": "text/plain"}  # a "simple" request: no preflight
        body = json.dumps({"seeds": 500, "epochs": 1000})
        r = client.post("/api/jobs", content=body, headers=simple)
        assert r.status_code == 403 and "cross-origin" in r.json()["error"]
        assert client.post("/api/jobs", content=body, headers={**simple, "content-type": "application/json"}
                           ).status_code == 403
        assert client.post("/api/jobs", content=body, headers={"content-type": "text/plain"}).status_code == 415
        assert client.post("/api/jobs", content=body).status_code == 415  # no type at all
        assert client.post("/api/jobs", content=body, headers={"origin": "null"}).status_code == 403
        # ...so nothing trains: the one job this server allows at a time is still free
        mine = client.post("/api/jobs", json={"epochs": 1000, "seeds": 2}, headers={"origin": LOCAL})
        assert mine.status_code == 201
        job_id = mine.json()["id"]
        assert client.post(f"/api/jobs/{job_id}/cancel", content=b"", headers=simple).status_code == 403
        assert client.get(f"/api/jobs/{job_id}/events", headers={"origin": EVIL}).status_code == 403
        assert client.get(f"/api/jobs/{job_id}").json()["state"] == "running"
        assert client.post(f"/api/jobs/{job_id}/cancel", json={}).status_code == 202


@pytest.mark.parametrize("request_", ["GET /api/meta", "POST /api/jobs", "GET /api/jobs/ID/results", "GET /"])
def test_a_rebound_domain_name_is_not_served(client, request_):
    job_id = train(client, {**TINY, "seeds": 1})[0]["id"]
    method, path = request_.split()
    for host in ("rebind.evil.example", "rebind.evil.example:8000", "127.0.0.1.evil.example", "", "[::1"):
        r = client.request(method, path.replace("ID", job_id), json=TINY, headers={"host": host})
        assert r.status_code == 421 and "does not answer for host" in r.json()["error"], host
        assert "results" not in r.json()


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000"])
def test_loopback_names_and_their_own_origin_are_served(client, host):
    r = client.post("/api/jobs", json={**TINY, "seeds": 1}, headers={"host": host, "origin": f"http://{host}"})
    assert r.status_code == 201, r.text


def test_a_server_on_another_address_answers_for_that_address_only(tmp_path):
    with TestClient(create_app(tmp_path / "s.sqlite", host="xor.lan"), base_url="http://xor.lan:8000") as client:
        assert client.get("/api/meta").status_code == 200
        assert client.get("/api/meta", headers={"host": "evil.example"}).status_code == 421
    with TestClient(create_app(tmp_path / "t.sqlite", host="0.0.0.0"), base_url="http://192.0.2.7:8000") as client:
        assert client.get("/api/meta").status_code == 200  # an address cannot be rebound
        assert client.get("/api/meta", headers={"host": "evil.example"}).status_code == 421


NON_FINITE = [("epochs", "NaN"), ("lr", "Infinity"), ("seeds", "-Infinity"), ("lr", "1e400"),
              ("first_seed", "1e400"), ("hidden", "-1e400"), ("lr", "1" + "0" * 400), ("seeds", "2.5"),
              ("lr", "NaN"), ("center", "NaN"), ("activation", "Infinity")]


@pytest.mark.parametrize("field,raw", NON_FINITE, ids=[f"{f}={v[:8]}" for f, v in NON_FINITE])
def test_non_finite_and_huge_numbers_get_422_naming_the_field(client, field, raw):
    r = client.post("/api/jobs", content=f'{{"{field}": {raw}}}', headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize("body", [b"[" * 4000, b'{"a":' * 600 + b"1" + b"}" * 600, b"\xff\xfe{}", b"null",
                                  b'"tanh"', b"", b'{"seeds": 1} {"seeds": 2}', b'{"__proto__": {}}',
                                  b'{"a": 3}', b'{"b": []}', b'{"a": {}, "c": 1}', b'{"a": {"a": {}}}',
                                  b'{"a": {}, "seeds": 3}'])
def test_any_body_that_is_not_an_object_of_settings_is_400_or_422(client, body):
    r = client.post("/api/jobs", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert "error" in r.json()


def test_a_job_nobody_follows_stops_after_the_idle_time(tmp_path):
    from xorlab.serve.jobs import Jobs

    jobs = Jobs(tmp_path / "s.sqlite", idle_seconds=0.3)
    job = jobs.create(Settings(epochs=1000, seeds=500))  # minutes of training; nobody polls or streams it
    followed = jobs.create(Settings(epochs=1000, seeds=500, first_seed=500))
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        jobs.get(followed.id)  # polled, as a page or script following it does
        time.sleep(0.05)
    try:
        assert job.state == "stopped" and job.status()["epoch"] < 1000
        assert followed.state == "running", followed.status()["error"]
    finally:
        jobs.stop_all()


def test_event_streams_are_limited_per_job_and_in_all(tmp_path):
    from xorlab.serve.jobs import Busy, Jobs

    jobs = Jobs(tmp_path / "s.sqlite", max_streams=(2, 3))
    a, b = (jobs.create(Settings(epochs=1000, seeds=2)) for _ in range(2))
    try:
        jobs.open_stream(a), jobs.open_stream(a)
        with pytest.raises(Busy, match="at most 2 and 3"):
            jobs.open_stream(a)
        jobs.open_stream(b)
        with pytest.raises(Busy):
            jobs.open_stream(b)  # three in all
        jobs.close_stream(a)
        jobs.open_stream(b)
        assert (a.listeners, b.listeners) == (1, 2)
    finally:
        jobs.stop_all()


def test_a_stream_dropped_before_it_began_is_uncounted(tmp_path):
    import gc

    from xorlab.serve.app import counted_stream
    from xorlab.serve.jobs import Jobs

    jobs = Jobs(tmp_path / "s.sqlite", max_streams=(1, 1))
    job = jobs.create(Settings(epochs=1, seeds=1))
    stream = counted_stream(jobs, job)  # a client that hung up before its response began
    assert job.listeners == 1
    del stream
    gc.collect()
    assert job.listeners == 0
    counted_stream(jobs, job)  # the slot is free again
    jobs.stop_all()


def test_a_real_server_refuses_a_fifth_stream_on_one_job(server):
    from xorlab.serve.jobs import MAX_STREAMS_PER_JOB

    with httpx.Client(base_url=server["url"], timeout=30) as c:
        job = c.post("api/jobs", json={"epochs": 1000, "seeds": 500}).json()
        with contextlib.ExitStack() as streams:
            for _ in range(MAX_STREAMS_PER_JOB):
                r = streams.enter_context(c.stream("GET", f"api/jobs/{job['id']}/events"))
                assert r.status_code == 200
            extra = c.get(f"api/jobs/{job['id']}/events")
            assert extra.status_code == 429 and "event streams" in extra.json()["error"]
        c.post(f"api/jobs/{job['id']}/cancel", json={})
        deadline = time.monotonic() + 30
        while c.get(f"api/jobs/{job['id']}").json()["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        with c.stream("GET", f"api/jobs/{job['id']}/events") as r:  # the four were released
            assert r.status_code == 200


def raw_request(url: str, data: bytes) -> bytes:
    """Send bytes to the server as they are, then hang up; what came back, if anything."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        try:
            return s.recv(65536)
        except OSError:
            return b""


def test_hostile_clients_leave_no_traceback_in_the_servers_log(tmp_path):
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "xorlab", "serve", "--port", "0", "--store",
                                 str(tmp_path / "s.sqlite")], stdout=subprocess.PIPE, stderr=err, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
        host = url[len("http://"):-1]
        head = f"POST /api/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        raw_request(url, (head + "Content-Length: 100\r\n\r\n{\"seeds\":").encode())  # hangs up mid-body
        answer = raw_request(url, (head + "Content-Length: 14\r\n\r\n{\"epochs\":NaN}").encode())
        assert answer.startswith(b"HTTP/1.1 422"), answer
        raw_request(url, b"GET /api/meta HTTP/1.1\r\nHost: " + "é".encode() + b"\xff\r\n\r\n")
        raw_request(url, b"\x16\x03\x01\x02\x00garbage, as a TLS hello would be\r\n\r\n")
        assert httpx.get(url + "api/meta", timeout=10).status_code == 200  # still serving
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert "Traceback" not in log.read_text() and "Exception" not in log.read_text(), log.read_text()


# ---------- every knob, pause and step, comparisons ----------

KNOBS = {"optimizer": "nesterov", "momentum": 0.5, "batch_size": 25, "noise": 0.2, "weight_decay": 0.001,
         "layers": 2}


def test_every_knob_reaches_the_runs_and_their_replay_lines(client):
    info, evs = train(client, {**TINY, **KNOBS, "seeds": 2, "epochs": 2})
    assert evs[-1][0] == "done" and info["settings"] == {**Settings().to_dict(), **TINY, **KNOBS, "seeds": 2,
                                                         "epochs": 2}
    assert info["replay"] == ("xorlab train --seed 7 --activation tanh --lr 0.1 --epochs 2 --center "
                              "--optimizer nesterov --momentum 0.5 --batch-size 25 --noise 0.2 "
                              "--weight-decay 0.001 --layers 2")
    body = client.get(f"/api/jobs/{info['id']}/results").json()
    configs = parse({**TINY, **KNOBS, "seeds": 2, "epochs": 2}).configs()
    assert [r["replay"] for r in body["results"]] == [train_command(c) for c in configs]
    expected = run_many(configs)
    np.testing.assert_array_equal(curves(evs, 2, 2)[0], np.round([r.test_loss for r in expected], 6))


def test_a_two_layer_jobs_params_carry_every_layer(client):
    _, evs = train(client, {**TINY, "layers": 3, "hidden": 3, "seeds": 2, "epochs": 2})
    params = [d["params"] for n, d in evs if n == "params"][-1]
    names = {f"dense{k}.{p}" for k in range(1, 5) for p in ("weight", "bias")}
    assert len(params) == 2 and all(set(p) == names for p in params)
    assert np.shape(params[0]["dense2.weight"]) == (3, 3) and np.shape(params[0]["dense4.weight"]) == (1, 3)


def test_an_adam_job_of_20_seeds_succeeds_as_often_as_xorlab_sweep(client, run_cli, tmp_path):
    _, evs = train(client, {"optimizer": "adam", "seeds": 20})
    rate = evs[-1][1]["summary"]["rate"]
    out = tmp_path / "sweep.jsonl"
    assert run_cli("sweep", "--optimizer", "adam", "--seeds", "0:20", "--out", out, "--quiet").code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 20 and all(r["optimizer"] == "adam" for r in records)
    assert (rate["k"], rate["n"]) == (sum(r["final_correct"] == r["test_total"] for r in records), 20)


def post(client, job_id: str, action: str) -> dict:
    r = client.post(f"/api/jobs/{job_id}/{action}", json={})
    assert r.status_code == 202, r.text
    return r.json()


def snapshot_count(client, job_id: str) -> int:
    """Snapshots the job has made so far, as a reader that starts now would get them."""
    job = client.app.state.jobs.get(job_id)
    return len(job.read(0)[0])


def test_pause_holds_after_the_epoch_in_flight_step_trains_one_and_resume_finishes_the_same(client):
    settings = {**TINY, "epochs": 400, "seeds": 2}
    info = client.post("/api/jobs", json=settings).json()
    answer = post(client, info["id"], "pause")
    assert answer["paused"] and answer["id"] == info["id"]
    paused = wait_state(client, info["id"], ("paused",))
    epoch, count = paused["epoch"], snapshot_count(client, info["id"])
    assert paused["paused"] and 1 <= epoch < 400
    cpu = time.process_time()
    time.sleep(1.0)  # paused: no epoch trains, no snapshot is made, and the worker waits on a condition
    assert time.process_time() - cpu < 0.3  # training would take all of the second (and more: 2 cores)
    assert client.get(f"/api/jobs/{info['id']}").json()["epoch"] == epoch
    assert snapshot_count(client, info["id"]) == count
    post(client, info["id"], "step")
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{info['id']}").json()["epoch"] == epoch and time.monotonic() < deadline:
        time.sleep(0.02)
    stepped = wait_state(client, info["id"], ("paused",))
    time.sleep(0.3)
    assert stepped["epoch"] == epoch + 1 == client.get(f"/api/jobs/{info['id']}").json()["epoch"]
    assert snapshot_count(client, info["id"]) == count + 1
    assert post(client, info["id"], "resume")["paused"] is False
    evs = events(client, info["id"])
    assert evs[-1][0] == "done"
    states = [d for n, d in evs if n == "state"]
    assert states == [{"state": "paused", "epoch": epoch}, {"state": "running", "epoch": epoch},
                      {"state": "paused", "epoch": epoch + 1}, {"state": "running", "epoch": epoch + 1}]
    expected = run_many(parse(settings).configs())  # uninterrupted, unwatched
    np.testing.assert_array_equal(curves(evs, 2, 400)[0], np.round([r.test_loss for r in expected], 6))
    body = client.get(f"/api/jobs/{info['id']}/results").json()
    assert [r["test_loss"] for r in body["results"]] == [r.summary()["test_loss"] for r in expected]


def test_step_on_a_running_job_pauses_it_and_cancel_ends_a_paused_one(client):
    info = client.post("/api/jobs", json={**TINY, "epochs": 1000, "seeds": 2}).json()
    assert post(client, info["id"], "step")["paused"]
    assert wait_state(client, info["id"], ("paused",))["epoch"] < 1000
    assert post(client, info["id"], "cancel")["id"] == info["id"]
    status = wait_state(client, info["id"])
    assert status["state"] == "stopped" and status["reason"] == "cancelled"
    assert client.post("/api/jobs/nope/pause", json={}).status_code == 404


def test_a_paused_and_forgotten_job_ends(tmp_path):
    with TestClient(create_app(tmp_path / "s.sqlite", max_running=1, pause_seconds=0.5), base_url=LOCAL) as client:
        info = client.post("/api/jobs", json={**TINY, "epochs": 1000, "seeds": 2}).json()
        post(client, info["id"], "pause")
        assert wait_state(client, info["id"], ("paused",))["pause_seconds"] == 0.5
        assert client.post("/api/jobs", json=TINY).status_code == 429  # paused is not finished
        status = wait_state(client, info["id"], timeout=30)  # polled all along: only the pause bound ends it
        assert status["state"] == "stopped" and "paused for more than 0.5 s" in status["reason"]
    from xorlab.serve.jobs import Jobs

    jobs = Jobs(tmp_path / "t.sqlite", idle_seconds=0.5)
    job = jobs.create(parse({**TINY, "epochs": 1000, "seeds": 2}))
    job.pause()
    deadline = time.monotonic() + 30
    while not job.finished and time.monotonic() < deadline:  # nobody polls or streams it
        time.sleep(0.05)
    assert job.state == "stopped" and "nobody followed it" in job.reason


A_SIDE = {**TINY, "seeds": 6, "epochs": 4}
B_SIDE = {"activation": "tanh", "center": True, "optimizer": "adam", "lr": 0.01, "epochs": 3}  # A's seeds


def test_a_comparison_trains_both_sides_on_the_same_seeds_side_by_side(client):
    from xorlab.stats import newcombe

    info, evs = train(client, {"a": A_SIDE, "b": B_SIDE})
    assert info["sides"] == [{"name": "A", "first": 0, "count": 6}, {"name": "B", "first": 6, "count": 6}]
    assert info["runs"] == 12 and info["seeds"] == list(range(7, 13)) and info["epochs"] == 4
    a, b = parse_job({"a": A_SIDE, "b": B_SIDE})
    assert info["replay_b"] == train_command(b.configs()[0])
    snaps = [s for n, d in evs if n == "epochs" for s in d["snapshots"]]
    # one snapshot per epoch, A and B together, until B's 3 epochs are spent
    assert [(s["epoch"], s["runs"]) for s in snaps] == [(e, list(range(12))) for e in (1, 2, 3)] + [
        (4, list(range(6)))]
    expected = run_many(a.configs()) + run_many(b.configs())  # two separate, unwatched jobs
    loss, _ = curves(evs, 12, 4)
    for i, r in enumerate(expected):
        np.testing.assert_array_equal(loss[i, : len(r.test_loss)], np.round(r.test_loss, 6))
    summary = evs[-1][1]["summary"]
    ka, kb = sum(r.success for r in expected[:6]), sum(r.success for r in expected[6:])
    assert (summary["rate"]["k"], summary["b"]["rate"]["k"]) == (ka, kb)
    d = newcombe(kb, 6, ka, 6)
    assert summary["difference"]["estimate"] == pytest.approx(d.d)
    assert (summary["difference"]["low"], summary["difference"]["high"]) == pytest.approx((d.low, d.high))
    assert "95% interval" in summary["difference"]["verdict"]
    last = [d for n, d in evs if n == "epochs"][-1]
    assert (last["rate"]["k"], last["rate_b"]["k"]) == (ka, kb) and last["difference"] == summary["difference"]
    params = [d["params"] for n, d in evs if n == "params"][-1]
    assert len(params) == 12 and all(p is not None for p in params)
    assert params[6]["dense1.weight"] == np.round(expected[6].params["dense1.weight"].astype(np.float64), 7).tolist()
    body = client.get(f"/api/jobs/{info['id']}/results").json()
    assert [r["side"] for r in body["results"]] == ["A"] * 6 + ["B"] * 6
    assert [r["replay"] for r in body["results"]] == [train_command(c) for c in a.configs() + b.configs()]
