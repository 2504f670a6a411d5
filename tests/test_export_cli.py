"""`mtlzoo export`: a bad output path and missed int8 targets are one-line
errors with a non-zero exit (issue 17: nothing silent)."""

import os
import sys

import pytest

from mtlzoo.app import cli
from mtlzoo.export import check_writable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "app", "cli"))
from cli_helpers import own_lines  # noqa: E402
from cli_helpers import run_cli  # noqa: E402

PRESET = "fashion_tiny_test"


def unwritable_paths(tmp_path):
    """Outputs no process can write, root included: under a regular
    file, and under /proc."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    return [
        str(blocker / "sub" / "model.tflite"),
        "/proc/mtlzoo_no_such_dir/model.tflite",
    ]


def test_check_writable_names_the_path(tmp_path):
    for path in unwritable_paths(tmp_path):
        with pytest.raises(ValueError, match="Cannot write the export") as e:
            check_writable(path)
        assert str(e.value).endswith(f"Received: path={path!r}")
    fine = tmp_path / "new" / "deeper" / "m.tflite"
    check_writable(str(fine))  # creates the folders, leaves no file
    assert os.listdir(fine.parent) == []


@pytest.mark.parametrize("fmt", ["tflite", "savedmodel"])
def test_export_to_unwritable_path_in_process(tmp_path, capsys, fmt):
    for path in unwritable_paths(tmp_path):
        argv = ["export", PRESET, "--format", fmt, "--output", path]
        assert cli.main(argv + ["--samples", "4"]) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("mtlzoo export: error: Cannot write the export")
        assert "Traceback" not in err


def test_export_to_unwritable_path_subprocess(tmp_path):
    path = unwritable_paths(tmp_path)[0]
    result = run_cli(
        "export", PRESET, "--format", "tflite", "--out", path, cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr[-2000:]
    lines = own_lines(result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("mtlzoo export: error: Cannot write")
    assert f"Received: path={path!r}" in lines[0]
