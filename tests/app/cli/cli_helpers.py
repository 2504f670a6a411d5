"""Helpers of the command-line tests: run `python -m mtlzoo`, read stderr."""

import os
import re
import subprocess
import sys

_TF_LOG = re.compile(
    r"^([IWEF]\d{4} |WARNING: All log messages|INFO: |To enable the)"
)


def run_cli(*args, cwd=None, env=None, timeout=600):
    """`python -m mtlzoo ARGS` in a subprocess; the CompletedProcess."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "mtlzoo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def own_lines(stderr):
    """stderr without TensorFlow's own log lines."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not _TF_LOG.match(line)
    ]
