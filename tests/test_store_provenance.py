"""Where each stored run was trained: provenance columns, and stores of schema 1 migrated."""

from __future__ import annotations

import sqlite3

import numpy as np

from xorlab.config import RunConfig
from xorlab.engines import resolve, run_many
from xorlab.machine import provenance
from xorlab.store import FILENAME, SCHEMA, Store

# The runs table of schema 1, before the provenance columns.
SCHEMA_1 = SCHEMA.split("    host TEXT")[0].rstrip().rstrip(",") + "\n);"


def test_every_stored_run_records_host_torch_and_cpu_capability(tmp_path):
    configs = [RunConfig(seed=s, epochs=1) for s in range(3)]
    with Store(tmp_path / FILENAME) as store:
        store.run(configs)
        rows = store.db.execute("SELECT host, torch_version, cpu_capability FROM runs").fetchall()
        machines = store.machines()
    where = provenance()
    assert rows == [(where["host"], where["torch"], where["cpu_capability"])] * 3
    assert machines == [{**where, "runs": 3}]


def test_a_store_of_schema_1_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / FILENAME
    [old] = run_many([RunConfig(seed=1, epochs=1)])
    with Store(tmp_path / "source.sqlite") as source:
        source.put([old], resolve("auto"))
        record = source.db.execute("SELECT * FROM runs").fetchone()[:14]  # the schema-1 columns
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.execute(f"INSERT INTO runs VALUES ({', '.join('?' * 14)})", record)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()

    new = RunConfig(seed=2, epochs=1)
    with Store(path) as store:
        [again, trained] = store.run([RunConfig(seed=1, epochs=1), new])
        machines = store.machines()
    np.testing.assert_array_equal(again.test_loss, old.test_loss)
    assert trained.config == new
    assert {(m["host"], m["runs"]) for m in machines} == {(None, 1), (provenance()["host"], 1)}


def test_runs_put_without_provenance_are_stamped_with_this_machine(tmp_path):
    # the playground trains through run_many, not an executor, and puts what it trained
    results = run_many([RunConfig(seed=s, epochs=1) for s in range(2)])
    assert not any("provenance" in r.extras for r in results)
    with Store(tmp_path / FILENAME) as store:
        store.put(results, resolve("auto"))
        rows = store.db.execute("SELECT host, torch_version, cpu_capability FROM runs").fetchall()
    where = provenance()
    assert rows == [(where["host"], where["torch"], where["cpu_capability"])] * 2
    assert all(r.extras["provenance"] == where for r in results)
