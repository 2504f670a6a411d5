"""One process of the distributed-search test: the chief or a worker.

Usage: `python _distributed_search_script.py CONFIG.json LOG_DIR WORKERS`,
with `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT` set. Every process runs
`mtlzoo.tuning.run_search(CONFIG.json)`, the same call a user runs.

Two test hooks, on workers only (they do not change what is searched):
- a worker asks for its next trial only once every one of the `WORKERS`
  workers has finished as many trials (rounds), so with as many trials as
  workers each worker runs one, however late it starts, and all workers
  hear "stopped" together (keras-tuner's chief then exits within 1 s
  instead of checking again 20 s later);
- a worker appends the id of every trial it starts to
  `LOG_DIR/<tuner_id>.trials`.

Every process writes `LOG_DIR/<tuner_id>.done` (JSON) when `run_search`
returns.
"""

import json
import os
import sys
import time

import keras_tuner as kt

from mtlzoo import tuning

BARRIER_SECONDS = 120


def _install_hooks(tuner_id, log_dir, workers):
    pre_create_trial = kt.Tuner.pre_create_trial
    trial_begin = kt.Tuner.on_trial_begin
    rounds = []

    def wait_for_round(self):
        if rounds:
            suffix = f".round{len(rounds)}"
            with open(os.path.join(log_dir, tuner_id + suffix), "w"):
                pass
            deadline = time.monotonic() + BARRIER_SECONDS
            while _count(log_dir, suffix) < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{tuner_id}: the other workers did not finish "
                        f"round {len(rounds)} within {BARRIER_SECONDS} s"
                    )
                time.sleep(0.1)
        rounds.append(1)
        pre_create_trial(self)

    def on_trial_begin(self, trial):
        path = os.path.join(log_dir, f"{tuner_id}.trials")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{trial.trial_id}\n")
        trial_begin(self, trial)

    kt.Tuner.pre_create_trial = wait_for_round
    kt.Tuner.on_trial_begin = on_trial_begin


def _count(log_dir, suffix):
    return sum(name.endswith(suffix) for name in os.listdir(log_dir))


def main(config_path, log_dir, workers):
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    if "chief" not in tuner_id:
        _install_hooks(tuner_id, log_dir, workers)
    start = time.monotonic()
    best = tuning.run_search(config_path, verbose=0)
    done = {
        "tuner_id": tuner_id,
        "returned_best": best is not None,
        "seconds": round(time.monotonic() - start, 1),
    }
    with open(os.path.join(log_dir, f"{tuner_id}.done"), "w") as f:
        json.dump(done, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
