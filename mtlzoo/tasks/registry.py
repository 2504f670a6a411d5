"""The registry of task kinds: `register_kind`, `get_kind`, `list_kinds`.

A task kind (`"classification"`, `"depth"`, ...) is a subclass of
`mtlzoo.tasks.Task` registered under its name; `Task(name, kind, ...)`
looks it up here. `validate_tasks` checks a model's task list.
"""

from mtlzoo._registry import Registry

_KINDS = Registry("task kind", "kind")


def register_kind(name, cls=None):
    """Register a `Task` subclass as the task kind `name`.

    Usable as a class decorator. Sets `cls.kind = name`.

    Args:
        name: str. The kind's name, a lower-case identifier (what configs
            write as `"kind"`).
        cls: a subclass of `Task`. Defaults to None (decorator use).

    Returns:
        The class (or the decorator).

    Example:

    >>> @register_kind("count")
    ... class CountTask(RegressionTask):
    ...     ...
    """

    def add(cls):
        from mtlzoo.tasks.base import Task

        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TypeError(
                "A task kind must be a subclass of mtlzoo.tasks.Task. "
                f"Received: cls={cls!r}"
            )
        if not isinstance(name, str) or not (
            name.isidentifier() and name == name.lower()
        ):
            raise ValueError(
                "A task kind name must be a lower-case identifier. "
                f"Received: name={name!r}"
            )
        if cls.primary_metric_name not in cls.metric_directions:
            raise ValueError(
                f"Task kind '{name}': primary_metric_name must be a key of "
                f"metric_directions {sorted(cls.metric_directions)}. "
                f"Received: primary_metric_name={cls.primary_metric_name!r}"
            )
        known = metric_directions()
        for metric, higher in cls.metric_directions.items():
            if known.get(metric, higher) != higher:
                raise ValueError(
                    f"Task kind '{name}' gives metric '{metric}' the "
                    "opposite direction of a registered kind. Received: "
                    f"metric_directions[{metric!r}]={higher!r}"
                )
        _KINDS.register(name, cls)
        cls.kind = name
        return cls

    if cls is None:
        return add
    return add(cls)


def unregister_kind(name):
    """Remove the task kind `name` (for tests and user overrides)."""
    _KINDS.unregister(name)


def get_kind(name):
    """The `Task` subclass registered as kind `name`."""
    return _KINDS.get(name)


def list_kinds(pattern=None):
    """Sorted names of the registered task kinds (optionally fnmatch
    filtered by `pattern`)."""
    return _KINDS.names(pattern)


def metric_directions(primary_only=False):
    """Metric name suffix -> whether higher is better, over every kind.

    Args:
        primary_only: bool. Only the kinds' primary metrics. Defaults to
            False.

    Returns:
        dict, e.g. `{"accuracy": True, "mae": False, ...}`.
    """
    out = {}
    for _, cls in _KINDS.items():
        for metric, higher in cls.metric_directions.items():
            if not primary_only or metric == cls.primary_metric_name:
                out[metric] = higher
    return out


def check_name(name):
    """Raise ValueError unless `name` is a valid task name (an
    identifier)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            "A task name must be a non-empty identifier (letters, digits, "
            f"underscores). Received: name={name!r}"
        )


def kind_class(name, kind):
    """The class of kind `kind` for task `name`; a clear ValueError for an
    unknown kind."""
    if not isinstance(kind, str) or kind not in list_kinds():
        raise ValueError(
            f"Unknown task kind for task '{name}'. Expected one of "
            f"{list_kinds()}. Received: kind={kind!r}"
        )
    return _KINDS.get(kind)


def validate_tasks(tasks):
    """Check a task list: Task objects with unique names. Returns a list.

    Args:
        tasks: a `Task`, or a list of `Task`s or task configs (dicts).

    Returns:
        A list of `Task`.
    """
    from mtlzoo.tasks.base import Task

    if isinstance(tasks, Task):
        tasks = [tasks]
    if not isinstance(tasks, (list, tuple)) or not tasks:
        raise ValueError(
            f"`tasks` must be a non-empty list of mtlzoo.Task. "
            f"Received: tasks={tasks!r}"
        )
    out = []
    for task in tasks:
        if isinstance(task, dict):
            task = Task.from_config(task)
        if not isinstance(task, Task):
            raise TypeError(
                f"Every entry of `tasks` must be an mtlzoo.Task. "
                f"Received: task={task!r}"
            )
        out.append(task)
    names = [t.name for t in out]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(
            f"Task names must be unique; duplicated: {dups}. "
            f"Received: task names={names}"
        )
    return out
