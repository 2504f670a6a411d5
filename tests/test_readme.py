"""The README's Python code runs as written."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python block"
    scope = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), scope)
    outputs = scope["outputs"]
    assert sorted(outputs) == ["depth", "segmentation", "shape"]
    assert outputs["segmentation"].shape == (32, 32, 32, 5)
