"""mtlzoo: multi-task learning models for Keras 3.

The public names below are imported on first use (PEP 562), so the
command line (`mtlzoo --help`, `list`, `info`) answers without importing
TensorFlow. A program that does `import mtlzoo` still gets the library
imported at once, which registers every Keras class of mtlzoo, so that
`import mtlzoo; keras.saving.load_model("model.keras")` works; only the
command line (the `mtlzoo` script, `python -m mtlzoo`) or
`MTLZOO_LAZY_IMPORT=1` keeps the import lazy.
"""

import importlib
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

# Public name -> (module, attribute); attribute None: the module itself.
_PUBLIC = {
    "MultiTaskModel": ("mtlzoo.model", "MultiTaskModel"),
    "Task": ("mtlzoo.tasks", "Task"),
    "architectures": ("mtlzoo.architectures", None),
    "backbones": ("mtlzoo.backbones", None),
    "build": ("mtlzoo.model", "build"),
    "callbacks": ("mtlzoo.callbacks", None),
    "convert": ("mtlzoo.convert", None),
    "datasets": ("mtlzoo.datasets", None),
    "export": ("mtlzoo.export", None),
    "heads": ("mtlzoo.heads", None),
    "images": ("mtlzoo.images", None),
    "list_models": ("mtlzoo.zoo", "list_models"),
    "load": ("mtlzoo.zoo", "load"),
    "metrics": ("mtlzoo.metrics", None),
    "postprocess": ("mtlzoo.zoo.post_processing", "postprocess"),
    "recalibrate_batch_norm": (
        "mtlzoo.model.batch_norm",
        "recalibrate_batch_norm",
    ),
    "tuning": ("mtlzoo.tuning", None),
    "weighting": ("mtlzoo.weighting", None),
    "zoo": ("mtlzoo.zoo", None),
}
# Imported on first use even by `import mtlzoo`: they pull in keras-tuner
# and the TFLite converter or reader, and register no class a `.keras` file
# needs.
_ON_FIRST_USE = ("convert", "export", "tuning")
# The command line; `python -m mtlzoo.app.cli` too.
_COMMAND_MODULES = ("mtlzoo", "mtlzoo.__main__", "mtlzoo.app.cli")

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'mtlzoo' has no attribute {name!r}")
    module_name, attribute = _PUBLIC[name]
    value = importlib.import_module(module_name)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _run_module():
    """The module `python -m MODULE` runs, or None."""
    args = list(getattr(sys, "orig_argv", None) or [])[1:]
    while args:
        arg = args.pop(0)
        if arg == "-m":
            return args[0] if args else None
        if arg in ("-X", "-W", "--check-hash-based-pycs"):
            args = args[1:]  # the option's value
        elif arg.startswith("-m"):
            return arg[2:]
        elif arg in ("-c", "-") or not arg.startswith("-"):
            return None  # code, stdin or a script: no -m
    return None


def _is_command_line():
    """Whether this process is the `mtlzoo` command line (lazy imports)."""
    if os.environ.get("MTLZOO_LAZY_IMPORT") == "1":
        return True
    argv = getattr(sys, "argv", None) or [""]
    script = os.path.basename(str(argv[0])).lower()
    for suffix in (".exe", "-script.pyw", "-script.py"):
        script = script.removesuffix(suffix)
    if script == "mtlzoo":
        return True
    # `python -m mtlzoo`: runpy imports the package while argv[0] is "-m".
    return argv[0] == "-m" and _run_module() in _COMMAND_MODULES


if not _is_command_line():
    for _name in __all__:
        if _name not in _ON_FIRST_USE:
            __getattr__(_name)
    del _name
