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
