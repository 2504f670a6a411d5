"""Multi-worker training (`MultiWorkerMirroredStrategy`) on localhost.

Starts two worker processes (a `TF_CONFIG` cluster on free localhost
ports) and one process without a cluster, all running
`_multi_worker_script.py` on the same global batches with BatchNorm
frozen: `equal` weighting fed as a DATA-sharded `tf.data.Dataset`, then
`pcgrad` with a head optimizer (`compile(head_optimizers=...)`) fed with
`distribute_datasets_from_function`. Both workers must end with the same
weights, equal to the single process's to float tolerance, and the chief
must have saved the model. The processes are killed by PID if anything
goes wrong or they take too long. Measured: 60-100 s wall on a 2-core
machine shared with other jobs (load ~7.5), about 30 s of CPU in all.
"""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from mtlzoo.model import multi_worker

SCRIPT = os.path.join(os.path.dirname(__file__), "_multi_worker_script.py")
TIMEOUT = 300  # seconds for the three processes together


def free_ports(count):
    """`count` distinct free TCP ports on localhost (bound to port 0, read,
    released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("localhost", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_processes(commands, logs):
    """Run `commands` at once; return their exit codes. Each process still
    running at the deadline (or when this fails) is killed by PID."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    processes = []
    files = [open(path, "w") for path in logs]
    try:
        for command, file in zip(commands, files):
            processes.append(
                subprocess.Popen(
                    [sys.executable, SCRIPT] + command,
                    stdout=file,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        deadline = time.monotonic() + TIMEOUT
        codes = []
        for process in processes:
            left = max(deadline - time.monotonic(), 0.1)
            try:
                codes.append(process.wait(timeout=left))
            except subprocess.TimeoutExpired:
                codes.append(None)
        return codes
    finally:
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, 9)
                process.wait()
        for file in files:
            file.close()


def weights(path, name):
    with np.load(path) as data:
        keys = sorted(
            (k for k in data.files if k.startswith(name + "/")),
            key=lambda k: int(k.split("/")[1]),
        )
        return [data[k] for k in keys]


def max_difference(a, b):
    assert len(a) == len(b) > 0
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


def test_two_workers_match_one_process(tmp_path):
    ports = free_ports(2)
    cluster = ",".join(f"localhost:{p}" for p in ports)
    outs = [tmp_path / f"{name}.npz" for name in ("w0", "w1", "single")]
    save = tmp_path / "saved"
    save.mkdir()
    commands = [
        [str(outs[0]), "--cluster", cluster, "--index", "0"],
        [str(outs[1]), "--cluster", cluster, "--index", "1"],
        [str(outs[2])],
    ]
    commands[0] += ["--save", str(save)]
    commands[1] += ["--save", str(save)]
    logs = [str(path) + ".log" for path in outs]
    codes = run_processes(commands, logs)
    text = "\n".join(f"--- {p}\n" + open(p).read()[-3000:] for p in logs)
    assert codes == [0, 0, 0], text

    assert (save / "model.keras").exists()
    assert sorted(p.name for p in save.iterdir()) == ["model.keras"]
    start = weights(outs[2], "start")
    for method in ("equal", "pcgrad"):
        w0, w1, single = (weights(path, method) for path in outs)
        assert max_difference(w0, w1) == 0.0, method
        assert max_difference(w0, single) < 1e-6, method
        assert max_difference(single, start) > 1e-2, method
    # The second run is not the first again (PCGrad's projections, the
    # head optimizer).
    equal, pcgrad = weights(outs[2], "equal"), weights(outs[2], "pcgrad")
    assert max_difference(equal, pcgrad) > 1e-5
    losses = [float(np.load(path)["equal_eval_loss"]) for path in outs]
    np.testing.assert_allclose(losses, losses[2], rtol=1e-5)


def test_one_process_is_not_multi_worker_mode():
    # In-process: a multi-worker strategy cannot be made once TensorFlow
    # runs, so only the "nothing changes" side is checked here.
    assert not multi_worker.in_multi_worker_mode()
    assert not multi_worker.in_multi_worker_mode(tf.distribute.get_strategy())
    logs = {"loss": tf.constant(1.0)}
    assert multi_worker.step_logs(logs) is logs
