"""Generate the API reference pages (Markdown) from mtlzoo's docstrings.

    python tools/gen_api_docs.py [--out docs/api]

`mkdocs build` runs this itself through `tools/mkdocs_hooks.py` (the
pages are generated in memory, nothing is written into docs/), so the
reference always matches the code. Docstrings are Keras style: a summary,
then `Args:`, `Returns:`, `Raises:`, `Example:` (`>>>` lines become a
Python code block) and `Reference:` sections.
"""

import argparse
import importlib
import inspect
import os
import pathlib
import re
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# page -> (title, modules); a module's public names are its `__all__`, or
# the public functions and classes defined in it.
PAGES = {
    "index": ("mtlzoo", ["mtlzoo"]),
    "tasks": ("Tasks", ["mtlzoo.tasks"]),
    "model": ("MultiTaskModel", ["mtlzoo.model"]),
    "backbones": ("Backbones", ["mtlzoo.backbones"]),
    "architectures": ("Architectures", ["mtlzoo.architectures"]),
    "heads": ("Heads", ["mtlzoo.heads"]),
    "weighting": ("Task weighting", ["mtlzoo.weighting"]),
    "callbacks": ("Callbacks", ["mtlzoo.callbacks"]),
    "datasets": ("Datasets", ["mtlzoo.datasets"]),
    "metrics": ("Metrics", ["mtlzoo.metrics"]),
    "zoo": ("Model zoo", ["mtlzoo.zoo"]),
    "tuning": ("Tuning", ["mtlzoo.tuning"]),
    "export": ("Export", ["mtlzoo.export"]),
    "convert": ("Converters", ["mtlzoo.convert"]),
    "images": ("Images", ["mtlzoo.images"]),
    "presets": (
        "Preset files",
        ["mtlzoo.presets.saving", "mtlzoo.presets.registry"],
    ),
    "plots": ("Plots", ["mtlzoo.app.plots"]),
    "train_config": (
        "Training from a config",
        ["mtlzoo.app.train_config"],
    ),
}
SECTIONS = ("Args", "Arguments", "Returns", "Raises", "Example", "Examples")
SECTIONS += ("Reference", "References", "Call arguments", "Note", "Tasks")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def public_names(module):
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
    )


def _escape(text):
    """Escape `<` outside code spans (Markdown would read it as HTML)."""
    parts = _CODE_SPAN.split(text)
    return "".join(
        p if p.startswith("`") else p.replace("<", "&lt;") for p in parts
    )


def render_docstring(doc):
    """Keras-style docstring -> Markdown."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out, code, in_fence = [], [], False

    def flush_code():
        if code:
            out.extend(["", "```python", *code, "```", ""])
            code.clear()

    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            flush_code()
            in_fence = not in_fence
            out.append(stripped)
            continue
        if in_fence:
            out.append(line)
            continue
        if stripped.startswith(">>> ") or stripped == ">>>":
            code.append(stripped[4:])
            continue
        if stripped.startswith("... ") and code:
            code.append(stripped[4:])
            continue
        if code and stripped and not line.startswith(" "):
            flush_code()
        elif code and stripped:
            code.append("# " + stripped)  # expected output
            continue
        flush_code()
        if stripped.rstrip(":") in SECTIONS and stripped.endswith(":"):
            out.extend(["", f"**{stripped[:-1]}**", ""])
            continue
        indent = len(line) - len(line.lstrip())
        item = re.match(
            r"^(\*?\*?[A-Za-z_][\w.]*)( \([^)]*\))?: (.*)$", stripped
        )
        if indent == 4 and item:
            name, kind, rest = item.groups()
            out.append(f"- `{name}`{kind or ''}: {_escape(rest)}")
        elif indent >= 4 and out and out[-1].startswith("- "):
            out[-1] += " " + _escape(stripped)
        elif stripped.startswith("- "):
            out.append(_escape(stripped))
        else:
            out.append(_escape(stripped))
    flush_code()
    return "\n".join(out).strip() + "\n"


def _signature(name, obj):
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        sig = "(...)"
    return f"{name}{sig}"


def _own_members(cls):
    """The attributes defined by `cls` itself or by its direct `...Mixin`
    bases (a class split into mixins keeps one page of methods); not those
    it inherits from other classes."""
    members = {}
    for base in reversed(cls.__bases__):
        if base.__name__.endswith("Mixin"):
            members.update(vars(base))
    members.update(vars(cls))
    return members


def render_object(qualname, obj):
    kind = "class" if inspect.isclass(obj) else "function"
    head = f"### `{qualname}`\n\n```python\n{kind} "
    head += _signature(qualname.rsplit(".", 1)[-1], obj) + "\n```\n\n"
    text = head + render_docstring(inspect.getdoc(obj) or "")
    if inspect.isclass(obj):
        for mname, member in sorted(_own_members(obj).items()):
            if mname.startswith("_") or not inspect.isfunction(member):
                continue
            if not member.__doc__ or mname in ("get_config", "from_config"):
                continue
            text += f"\n#### `{qualname}.{mname}`\n\n```python\n"
            text += _signature(mname, member) + "\n```\n\n"
            text += render_docstring(member.__doc__)
    return text


def render_page(title, module_names):
    parts = [f"# {title}\n"]
    for module_name in module_names:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            parts.append(f"`{module_name}` is not available: {error}\n")
            continue
        parts.append(f"`import {module_name}`\n")
        parts.append(render_docstring(module.__doc__ or ""))
        for name in public_names(module):
            obj = getattr(module, name, None)
            if inspect.ismodule(obj):
                parts.append(f"- `{module_name}.{name}`: see its page.\n")
            elif inspect.isclass(obj) or callable(obj):
                parts.append(render_object(f"{module_name}.{name}", obj))
    return "\n".join(parts)


def api_pages():
    """Relative path (under docs/) -> Markdown of every API page."""
    return {
        f"api/{page}.md": render_page(title, modules)
        for page, (title, modules) in PAGES.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs", help="docs directory")
    args = parser.parse_args(argv)
    for rel, text in api_pages().items():
        path = pathlib.Path(args.out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    sys.exit(main())
