"""The library and the application are separate rings; the CLI is fast.

Nothing in `mtlzoo/` outside `mtlzoo/app/` imports `mtlzoo.app` (the
package's `__main__.py`, the `python -m mtlzoo` entry point, is the one
door). `mtlzoo --help`, `list` and `info` import neither TensorFlow nor
Keras, while a plain `import mtlzoo` in a program still registers every
Keras class.
"""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

import mtlzoo

PACKAGE = pathlib.Path(mtlzoo.__file__).resolve().parent
APP = PACKAGE / "app"
ENTRY_POINTS = {PACKAGE / "__main__.py"}
HEAVY = ("tensorflow", "keras", "keras_tuner", "matplotlib")


def _imports(tree):
    """Every module name an import statement or import_module call names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.lineno, str(node.args[0].value)


def test_library_never_imports_the_app():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if APP in path.parents or path in ENTRY_POINTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, name in _imports(tree):
            if name == "mtlzoo.app" or name.startswith("mtlzoo.app."):
                offenders.append(f"{path.relative_to(PACKAGE)}:{line} {name}")
    assert not offenders, offenders


def _imported_modules(args):
    """Top-level modules a `python -X importtime ARGS` run imports."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("MTLZOO_LAZY_IMPORT", None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names, result.stdout


@pytest.mark.parametrize(
    "command",
    [["--help"], ["list"], ["info", "fashion_tiny_test"]],
    ids=["help", "list", "info"],
)
def test_fast_commands_import_no_tensorflow(command):
    names, stdout = _imported_modules(["-m", "mtlzoo", *command])
    assert "mtlzoo" in names and stdout
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_console_script_imports_no_tensorflow():
    script = pathlib.Path(sys.executable).parent / "mtlzoo"
    if not script.is_file():
        pytest.skip("the mtlzoo console script is not installed")
    names, stdout = _imported_modules([str(script), "list", "--names"])
    assert "fashion_tiny_test" in stdout.split()
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def _python(code, lazy=False):
    """stdout words of `python -c CODE`."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("MTLZOO_LAZY_IMPORT", None)
    if lazy:
        env["MTLZOO_LAZY_IMPORT"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


def test_plain_import_registers_the_library():
    code = "import mtlzoo, sys; print('keras' in sys.modules)"
    assert _python(code) == ["True"]


def test_lazy_import_on_request():
    code = (
        "import sys, mtlzoo; print('keras' in sys.modules); "
        "print(mtlzoo.zoo.list_models('fashion_tiny*')[0]); "
        "print('keras' in sys.modules); "
        "print(mtlzoo.Task.__name__, 'keras' in sys.modules)"
    )
    out = _python(code, lazy=True)
    assert out == ["False", "fashion_tiny_test", "False", "Task", "True"]


def test_keras_file_loads_after_plain_import(tmp_path):
    tasks = [
        mtlzoo.Task("digit", "classification", num_classes=3),
        mtlzoo.Task("mask", "segmentation", num_classes=2),
    ]
    model = mtlzoo.build("tiny", tasks, input_shape=(32, 32, 1))
    path = tmp_path / "m.keras"
    model.save(path)
    code = (
        "import mtlzoo, keras; "
        f"model = keras.saving.load_model({str(path)!r}); "
        "print(type(model).__name__, *sorted(model.output_names))"
    )
    assert _python(code) == ["MultiTaskModel", "digit", "mask"]


def test_public_names():
    assert set(mtlzoo.__all__) <= set(dir(mtlzoo))
    for name in mtlzoo.__all__:
        assert getattr(mtlzoo, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        mtlzoo.no_such_name  # noqa: B018
