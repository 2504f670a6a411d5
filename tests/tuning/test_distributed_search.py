"""keras-tuner's distributed mode with `run_search`: a chief, two workers.

The three processes run `_distributed_search_script.py` on one config (one
shared search directory), on 127.0.0.1 and a free port, CPU only; every
process still running at the end (failure or `TIMEOUT`) is killed by PID.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import keras_tuner as kt
import pytest
from tuning_helpers import search_config

from mtlzoo import tuning

SCRIPT = pathlib.Path(__file__).with_name("_distributed_search_script.py")
REPO = pathlib.Path(tuning.__file__).resolve().parents[2]
ROLES = ("chief", "tuner0", "tuner1")
WORKERS = [role for role in ROLES if role != "chief"]
TRIALS = len(WORKERS)  # one each (the script runs them in rounds)
TIMEOUT = 300  # seconds for the whole search


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(port):
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "grpc_proxy")
    }
    env.update(
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(port),
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
        CUDA_VISIBLE_DEVICES="",
        TF_CPP_MIN_LOG_LEVEL="3",
        # the processes import the mtlzoo under test
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(REPO), env.get("PYTHONPATH")])
        ),
    )
    return env


def _run_search(tmp_path, config):
    """Start the chief and the workers; wait; kill what is left by PID."""
    path = tmp_path / "search.json"
    path.write_text(json.dumps(config))
    logs = tmp_path / "logs"
    logs.mkdir()
    env = _environment(_free_port())
    procs = {}
    deadline = time.monotonic() + TIMEOUT
    try:
        for role in ROLES:
            with open(logs / f"{role}.log", "w") as out:
                procs[role] = subprocess.Popen(
                    [sys.executable, str(SCRIPT), str(path), str(logs)]
                    + [str(len(WORKERS))],
                    env=dict(env, KERASTUNER_TUNER_ID=role),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        # Wait for all; stop at the first failure or at the deadline.
        while time.monotonic() < deadline:
            codes = [proc.poll() for proc in procs.values()]
            if None not in codes or any(codes):
                break
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
    # A process that failed by itself first; -9: killed here, after a
    # failure elsewhere or at TIMEOUT.
    killed = -signal.SIGKILL
    for role in sorted(procs, key=lambda r: procs[r].returncode == killed):
        tail = (logs / f"{role}.log").read_text()[-3000:]
        assert procs[role].returncode == 0, (role, procs[role].returncode, tail)
    return logs


def _trial_ids(logs, role):
    path = logs / f"{role}.trials"
    return path.read_text().split() if path.exists() else []


def test_chief_and_two_workers_run_one_search(tmp_path):
    directory = tmp_path / "runs"
    output = tmp_path / "best.json"
    config = search_config(directory, output=output)
    config["tuner"]["max_trials"] = TRIALS
    start = time.monotonic()
    logs = _run_search(tmp_path, config)
    print(f"distributed search: {time.monotonic() - start:.1f} s")

    done = {r: json.loads((logs / f"{r}.done").read_text()) for r in ROLES}
    # Only the chief returns (and writes) the best config.
    assert [r for r in ROLES if done[r]["returned_best"]] == ["chief"]

    # The chief's oracle recorded every trial, each one completed...
    project = directory / "search"
    oracle = json.loads((project / "oracle.json").read_text())
    trials = {}
    for path in sorted(project.glob("trial_*/trial.json")):
        record = json.loads(path.read_text())
        trials[record["trial_id"]] = record
    # ...`max_trials` counts the trials of all workers together...
    assert len(trials) == TRIALS, sorted(trials)
    for trial_id, record in trials.items():
        assert record["status"] == "COMPLETED", (trial_id, record["message"])
        assert record["score"] is not None
        assert "val_delta_m" in record["metrics"]["metrics"]
        # the worker that ran it saved its best epoch in the shared folder
        assert list((project / f"trial_{trial_id}").glob("checkpoint*"))
    assert sorted(oracle["end_order"]) == sorted(trials)
    assert oracle["ongoing_trials"] == {}

    # ...and both workers ran trials, none twice.
    ran = {role: _trial_ids(logs, role) for role in WORKERS}
    assert all(ran.values()), ran
    together = [t for ids in ran.values() for t in ids]
    assert sorted(together) == sorted(trials), ran

    # The best trial's hyperparameters are on the chief, in its output.
    best = json.loads(output.read_text())
    top = max(trials.values(), key=lambda record: record["score"])
    assert best["search"]["trial_id"] == top["trial_id"]
    assert best["search"]["score"] == top["score"]
    chosen = {
        k: v
        for k, v in top["hyperparameters"]["values"].items()
        if not k.startswith("tuner/")
    }
    assert best["training"]["hyperparameters"] == chosen
    assert set(best["architecture"]["branch_points"][0]["tasks"]) <= {
        "garment",
        "ink",
    }


def _as_worker(monkeypatch, tuner_id="tuner0"):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(_free_port()))
    monkeypatch.setenv("KERASTUNER_TUNER_ID", tuner_id)


def test_distributed_search_refuses_to_measure_baselines(tmp_path, monkeypatch):
    config = search_config(tmp_path)
    config["objective"]["baselines"] = "measure"
    for role in ("chief", "tuner0"):
        _as_worker(monkeypatch, role)
        with pytest.raises(ValueError, match="baselines: measure.*Received"):
            tuning.run_search(config, verbose=0)
    assert not list(tmp_path.iterdir())  # refused before anything ran


def test_worker_keeps_the_chiefs_project_folder(tmp_path, monkeypatch):
    # What the chief wrote before this worker started must survive it,
    # whatever `overwrite` says (a worker that clears the shared folder
    # deletes finished trials' records).
    project = tmp_path / "search"
    (project / "trial_0").mkdir(parents=True)
    (project / "trial_0" / "trial.json").write_text("{}")
    _as_worker(monkeypatch)
    searched = []
    # No chief is running: stop before the worker asks it for a trial.
    monkeypatch.setattr(
        kt.RandomSearch, "search", lambda self, *a, **k: searched.append(1)
    )
    config = search_config(tmp_path)
    config["tuner"]["overwrite"] = True
    assert tuning.run_search(config, verbose=0) is None
    assert searched == [1]
    assert (project / "trial_0" / "trial.json").read_text() == "{}"


def test_distributed_search_names_missing_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.delenv("KERASTUNER_ORACLE_PORT", raising=False)
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT.*Received"):
        tuning.run_search(search_config(tmp_path), verbose=0)
