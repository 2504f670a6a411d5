"""One registry type for every catalog (weighting, architectures, heads,
backbones, datasets, task kinds, presets' recipes).

An entry registers itself in the module that defines it, with the
`register` decorator (or an explicit `register(name, obj)` call); the
catalog's package imports its modules so that listing it lists them all.
Names are lower case; aliases map to a canonical name and are accepted by
`get` but not listed by `names()`.

Example:

>>> HEADS = Registry("head", "head")
>>> @HEADS.register("vector")
... class VectorHead: ...
>>> HEADS.get("vector") is VectorHead
True
"""

import fnmatch


class Registry:
    """A name -> object catalog with aliases and clear errors.

    Args:
        what: str. What an entry is, for messages (`"weighting method"`).
        argument: str. The argument name users pass names through, for the
            `Received:` part of errors (`"weighting"`).
    """

    def __init__(self, what, argument):
        self.what = what
        self.argument = argument
        self._entries = {}
        self._aliases = {}

    def register(self, name, obj=None, aliases=()):
        """Register `obj` under `name` (and `aliases`); usable as decorator.

        Raises:
            ValueError: if the name or an alias is already taken by another
                object.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"A {self.what} name must be a non-empty str. "
                f"Received: name={name!r}"
            )

        name = self._normalize(name)
        aliases = tuple(self._normalize(a) for a in aliases)

        def add(obj):
            for key in (name, *aliases):
                taken = self._entries.get(key) or self._entries.get(
                    self._aliases.get(key)
                )
                if taken is not None and taken is not obj:
                    raise ValueError(
                        f"The {self.what} name '{key}' is already registered "
                        f"to {taken!r}. Received: name={key!r}"
                    )
            self._entries[name] = obj
            for alias in aliases:
                if alias != name:
                    self._aliases[alias] = name
            return obj

        if obj is None:
            return add
        return add(obj)

    def unregister(self, name):
        """Remove `name` and its aliases (for tests and user overrides)."""
        name = self._normalize(name)
        self._entries.pop(name, None)
        for alias in [a for a, n in self._aliases.items() if n == name]:
            del self._aliases[alias]

    def canonical(self, name):
        """The canonical name of `name` (itself, or what it aliases)."""
        key = self._normalize(name)
        key = self._aliases.get(key, key)
        if key not in self._entries:
            raise ValueError(
                f"Unknown {self.what}. Expected one of {self.names()}"
                f"{self._alias_hint()}. Received: {self.argument}={name!r}"
            )
        return key

    def get(self, name):
        """The object registered under `name` or one of its aliases."""
        return self._entries[self.canonical(name)]

    def names(self, pattern=None):
        """Sorted canonical names, optionally filtered by an fnmatch
        `pattern`."""
        names = sorted(self._entries)
        if pattern is not None:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names

    def aliases(self):
        """Dict alias -> canonical name."""
        return dict(self._aliases)

    def items(self):
        return [(n, self._entries[n]) for n in self.names()]

    def __contains__(self, name):
        try:
            self.canonical(name)
        except ValueError:
            return False
        return True

    def __len__(self):
        return len(self._entries)

    def _normalize(self, name):
        if not isinstance(name, str):
            raise TypeError(
                f"A {self.what} name must be a str. "
                f"Received: {self.argument}={name!r}"
            )
        return name.strip().lower().replace("-", "_")

    def _alias_hint(self):
        if not self._aliases:
            return ""
        return f" (or an alias: {sorted(self._aliases)})"
