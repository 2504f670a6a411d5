"""How parameters are shared between tasks, one architecture per file."""

from mtlzoo.architectures import hard_sharing

_REGISTRY = {"hard_sharing": hard_sharing.build}


def list_architectures():
    """Names accepted by `mtlzoo.build(..., architecture=...)`."""
    return sorted(_REGISTRY)


def get(name):
    """The builder function of an architecture."""
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown architecture. Expected one of {list_architectures()}. "
            f"Received: architecture={name!r}"
        )
    return _REGISTRY[name]
