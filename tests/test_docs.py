import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path):
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


def test_quickstart_blocks_run(tmp_path, monkeypatch):
    blocks = python_blocks(REPO / "docs" / "quickstart.md")
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "quickstart"}
    for i, block in enumerate(blocks):
        code = compile(block, f"docs/quickstart.md[block {i}]", "exec")
        exec(code, namespace)
    # what the page promises was made
    for name in ("curves.png", "delta_m.png", "shapes_int8.tflite"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert os.listdir(tmp_path / "logs" / "validation")
    assert namespace["report"]["io_dtype"] == "float32"


def test_concepts_validation_split_block_runs():
    (block,) = [
        b for b in python_blocks(REPO / "docs" / "concepts.md")
        if "validation_split" in b
    ]  # fmt: skip
    namespace = {}
    exec(compile(block, "docs/concepts.md[validation]", "exec"), namespace)
    images, labels = next(iter(namespace["val"]))
    assert images.shape == (20, 28, 28, 1)  # 10 % of the 200-item sample
    assert int(namespace["val"].cardinality()) == 1


def test_howto_task_kind_block_runs():
    import mtlzoo

    (block,) = python_blocks(REPO / "docs" / "howto" / "task_kind.md")
    namespace = {}
    try:
        code = compile(block, "docs/howto/task_kind.md", "exec")
        exec(code, namespace)
    finally:
        mtlzoo.tasks.unregister_kind("count")
    assert "count" not in mtlzoo.tasks.list_kinds()
    task = namespace["tasks"][0]
    assert task.kind == "count" and task.output_activation == "softplus"
    assert namespace["logs"]["objects_loss"] >= 0.0


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPO,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for page in ("quickstart", "concepts", "api/export", "api/model", "zoo"):
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "plots" / "index.html").read_text()
    assert "delta_m_chart" in api


def run_page(page, tmp_path, monkeypatch, select=None):
    """Run the python blocks of a docs page in order, in `tmp_path`.

    Returns the namespace the blocks ran in.
    """
    import tempfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace = {"__name__": "docs"}
    for i, block in enumerate(python_blocks(REPO / "docs" / page)):
        if select is None or select in block:
            exec(compile(block, f"docs/{page}[block {i}]", "exec"), namespace)
    return namespace


def test_howto_fine_tune_blocks_run(tmp_path, monkeypatch):
    import shlex

    from mtlzoo.app import cli
    from mtlzoo.app import model_source

    ns = run_page("howto/fine_tune.md", tmp_path, monkeypatch)
    # fine-tuning is right at inference: evaluate agrees with fit
    assert ns["evaluated"]["digit_accuracy"] >= ns["fit_accuracy"] - 0.05
    assert ns["evaluated"]["digit_accuracy"] > 0.5  # it learned digits
    assert ns["fresh"] and not any("ink" in layer for layer in ns["fresh"])
    # the page's command line fine-tune, run as written
    text = (REPO / "docs" / "howto" / "fine_tune.md").read_text()
    (command,) = re.findall(r"^mtlzoo train --preset .*$", text, re.M)
    assert cli.main(shlex.split(command)[1:] + ["--verbose", "0"]) == 0
    out = tmp_path / "runs" / "digits"
    config = out / "fashion_tiny_test_my_digits.json"
    for path in (config, out / "curves.png", out / "task_weights.png"):
        assert path.stat().st_size > 0, path
    model, _, _ = model_source.load(str(config))
    predictions = model.predict(ns["val_x"][:2], verbose=0)
    assert set(predictions) == {"digit", "parity", "ink"}


def test_howto_own_backbone_example_runs(tmp_path, monkeypatch):
    ns = run_page(
        "howto/own_backbone.md", tmp_path, monkeypatch, select="def make_cnn"
    )
    assert ns["loaded"].get_config()["backbone"]["config"]["name"] == "my_cnn"


def test_howto_branch_points_blocks_run(tmp_path, monkeypatch):
    ns = run_page("howto/branch_points.md", tmp_path, monkeypatch)
    assert ns["best_trial"].score is not None
    assert set(ns["branch_points"]) == {"shape", "segmentation"}
    assert set(ns["branch_points"].values()) <= {"P3", "P5"}
    best = ns["best"]
    assert best.count_params() > 0
    assert [t.name for t in best.tasks] == ["shape", "segmentation"]


def test_howto_task_affinity_blocks_run(tmp_path, monkeypatch):
    import numpy as np

    ns = run_page("howto/task_affinity.md", tmp_path, monkeypatch)
    names = ns["task_names"]
    assert ns["affinity"].shape == (len(names), len(names))
    assert np.isfinite(ns["affinity"]).all()
    groups = list(ns["groups"])
    assert len(groups) == 2
    members = [task for group in groups for task in group]
    assert sorted(members) == sorted(names)  # a partition of the tasks
    built = ns["grouped"].get_config()["branch_points"]
    assert sorted(t for g in built for t in g["tasks"]) == sorted(names)


def test_howto_convert_blocks_run(tmp_path, monkeypatch):
    pytest.importorskip("tflite")
    import numpy as np

    import mtlzoo

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("MTLZOO_SOURCES", raising=False)
    try:
        ns = run_page("howto/convert.md", tmp_path, monkeypatch)
    finally:
        mtlzoo.backbones.registry.BACKBONES.unregister("tiny_trunk")
    assert max(o["max_rel"] for o in ns["report"]["outputs"]) < 1e-4
    assert set(ns["split"].levels) >= {"P1", "P5"}
    assert "pip install my-package==1.0" in ns["message"]
    assert ns["message"].endswith("Received: source=None")
    want = ns["model"].predict(ns["pixels"], verbose=0)
    for model in (ns["again"], ns["first"], ns["cached"]):
        got = model.predict(ns["pixels"], verbose=0)
        for task in want:
            np.testing.assert_allclose(got[task], want[task], atol=1e-6)
    assert "tiny_trunk" not in mtlzoo.backbones.list_backbones()


def test_howto_tensorboard_blocks_run(tmp_path, monkeypatch):
    ns = run_page("howto/tensorboard.md", tmp_path, monkeypatch)
    assert ns["expected_train"] <= ns["train_tags"]
    assert ns["expected_validation"] <= ns["validation_tags"]
    assert "task_weight/segmentation" in ns["train_tags"]
