"""mtlzoo.tuning.run_search: config-driven and distributed search."""

import json
import os
import socket
import subprocess
import sys

import pytest
from tuning_helpers import search_config

from mtlzoo import tuning


def test_run_search_measures_and_keeps_baselines(tmp_path, monkeypatch):
    config = search_config(tmp_path, output=tmp_path / "best.json")
    config["tasks"] = ["ink"]  # one baseline to train keeps this fast
    config["objective"] = {"name": "val_delta_m", "baselines": "measure"}
    config["tuner"]["max_trials"] = 1
    best = tuning.run_search(config, verbose=0)
    cache = tmp_path / "search_baselines.json"
    assert list(tuning.load_baselines(str(cache))) == ["ink_mae"]
    assert best["search"]["objective"] == "val_delta_m"
    assert json.loads((tmp_path / "best.json").read_text()) == best
    # A second search (overwriting the project) reads the cached baselines.
    from mtlzoo.tuning import baselines as baselines_module

    def fail(*args, **kwargs):
        raise AssertionError("baselines trained again")

    monkeypatch.setattr(baselines_module, "_train_one", fail)
    assert tuning.run_search(config, verbose=0) is not None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.large
def test_distributed_chief_and_worker(tmp_path):
    """Separate folders per process (large: the newer 3-process test in
    test_distributed_search.py covers a shared folder in ~30 s)."""
    output = tmp_path / "best.json"
    env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1")
    env["KERASTUNER_ORACLE_PORT"] = str(_free_port())
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    script = "import sys, mtlzoo.tuning as t; t.run_search(sys.argv[1], 0)"
    procs = {}
    for role in ("chief", "worker0"):
        directory = tmp_path / role
        config = search_config(directory, output if role == "chief" else None)
        path = tmp_path / f"{role}.json"
        path.write_text(json.dumps(config))
        procs[role] = subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            env=dict(env, KERASTUNER_TUNER_ID=role),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    logs = {}
    try:
        for role, proc in procs.items():
            logs[role], _ = proc.communicate(timeout=170)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for role, proc in procs.items():
        assert proc.returncode == 0, (role, logs.get(role, "")[-3000:])
    # The chief's oracle recorded the trials; the worker trained them.
    chief_dir = tmp_path / "chief" / "search"
    trials = sorted(p.name for p in chief_dir.glob("trial_*"))
    assert len(trials) == 2, trials
    for trial in trials:
        record = json.loads((chief_dir / trial / "trial.json").read_text())
        assert record["status"] == "COMPLETED"
        assert record["score"] is not None
        assert (tmp_path / "worker0" / "search" / trial).is_dir()
        assert not list((chief_dir / trial).glob("checkpoint*"))
    best = json.loads(output.read_text())
    assert best["search"]["score"] is not None
    assert [t["name"] for t in best["architecture"]["tasks"]] == [
        "garment",
        "ink",
    ]
