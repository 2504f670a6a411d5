"""Loader functions made from a parameter list and a body.

The loaders of one family (the TFDS wrappers, the overlapped-item
composites) share most of their parameters and of their argument docs;
`make_loader` writes them once. The function it returns has a real
signature (`inspect.signature`, `help()`) and docstring, and rejects
unknown arguments like any Python function.
"""

import inspect
import textwrap

_PARAMETER = inspect.Parameter.POSITIONAL_OR_KEYWORD
# Sections written flush with their title (Keras style), and the break.
_FLUSH = {"Example": "\n\n", "Reference": "\n"}


def make_loader(name, module, parameters, load, doc):
    """A function `name(**parameters)` that returns `load(**arguments)`.

    Args:
        name: str. The function's (and its registry entry's) name.
        module: str. Its `__module__`: the `__name__` of the module that
            defines it.
        parameters: list of `(name, default)` pairs, in signature order.
        load: callable. Called with every parameter as a keyword.
        doc: str. The docstring.

    Returns:
        The loader function.
    """
    signature = inspect.Signature(
        [inspect.Parameter(p, _PARAMETER, default=d) for p, d in parameters]
    )

    def loader(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{name}() {error}") from None
        bound.apply_defaults()
        return load(**bound.arguments)

    loader.__name__ = loader.__qualname__ = name
    loader.__module__ = module
    loader.__doc__ = doc
    loader.__signature__ = signature
    return loader


def docstring(summary, sections):
    """A Keras-style docstring from a summary and `(title, body)` sections.

    A body is a str or a list of str pieces (joined by line breaks);
    `Args:`-like bodies are indented under their title, `Example:` and
    `Reference:` ones written flush with it. Every piece is dedented
    first, so pieces written at any indentation (a module-level constant,
    an indented argument list) fit.
    """
    parts = [inspect.cleandoc(summary)]
    for title, body in sections:
        pieces = [body] if isinstance(body, str) else body
        body = "\n".join(p for p in map(inspect.cleandoc, pieces) if p)
        if body and title in _FLUSH:
            parts.append(f"{title}:{_FLUSH[title]}{body}")
        elif body:
            parts.append(f"{title}:\n" + textwrap.indent(body, "    "))
    first, _, rest = "\n\n".join(parts).partition("\n")
    return first + "\n" + textwrap.indent(rest, "    ") + "\n    "
