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


def report(size_ratio=3.8, f32_bytes=4_000_000, drops=(0.2, 0.0)):
    tasks = {f"t{i}": {"accuracy_drop": d} for i, d in enumerate(drops)}
    tasks["ink"] = {"max_abs_error": 0.01}
    return {
        "size_ratio": size_ratio,
        "float32_size_bytes": f32_bytes,
        "tasks": tasks,
    }


def test_int8_targets():
    from mtlzoo.export import int8_targets

    met = int8_targets(report())
    assert met["met"] and met["missed"] == []
    assert met["size_ratio_met"] and met["accuracy_drop_met"]
    missed = int8_targets(report(size_ratio=2.5, drops=(1.56, 0.5)))
    assert not missed["met"]
    assert missed["missed"] == [
        "size ratio 2.50x < 3.0x",
        "t0: accuracy drop 1.56 > 1.0 points",
    ]
    # A small file: the graph sets its size, the ratio is no target.
    small = int8_targets(report(size_ratio=1.6, f32_bytes=48_000))
    assert small["size_ratio_met"] is None and small["met"]
    no_labels = int8_targets(report(drops=()))
    assert no_labels["accuracy_drop_met"] is None


@pytest.mark.parametrize("flag, code", [([], 0), (["--fail-on-miss"], 1)])
def test_fail_on_miss(tmp_path, monkeypatch, capsys, flag, code):
    from mtlzoo import export as export_lib

    def fake_export(model, path, **kwargs):
        out = report(drops=(1.56,))
        out.update(
            path=path,
            format="tflite",
            quantize="int8",
            size_bytes=1_000_000,
            latency_ms=1.0,
            samples=8,
            inputs="sample_inputs",
        )
        out["targets"] = export_lib.int8_targets(out)
        return out

    monkeypatch.setattr(export_lib, "export", fake_export)
    monkeypatch.chdir(tmp_path)
    argv = ["export", PRESET, "--format", "tflite", "--quantize", "int8"]
    assert cli.main(argv + ["--samples", "4"] + flag) == code
    captured = capsys.readouterr()
    assert "MISSED: t0: accuracy drop 1.56 > 1.0 points" in captured.out
    assert os.path.isfile(tmp_path / f"{PRESET}_int8.report.json")
    if code:
        lines = captured.err.strip().splitlines()
        assert lines == [
            "mtlzoo export: error: int8 targets missed: t0: accuracy drop "
            "1.56 > 1.0 points (the files are written). "
            "Received: --fail-on-miss"
        ]
