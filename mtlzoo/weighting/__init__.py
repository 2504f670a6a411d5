"""Task balancing methods, passed as `model.compile(weighting=...)`."""

from mtlzoo.weighting.base import EqualWeighting
from mtlzoo.weighting.base import Weighting
from mtlzoo.weighting.fixed_weighting import FixedWeighting

# alias -> class; every method registers here (tests parametrise over it).
_REGISTRY = {
    "equal": EqualWeighting,
    "fixed": FixedWeighting,
}


def list_weightings():
    """Names accepted by `get` and `compile(weighting=...)`."""
    return sorted(_REGISTRY)


def get(identifier, **kwargs):
    """Return a weighting object from a name, a config dict or an object.

    Args:
        identifier: str, dict, `Weighting` or None (equal weighting).
        **kwargs: constructor options when `identifier` is a name.
    """
    if identifier is None:
        return EqualWeighting(**kwargs)
    if isinstance(identifier, Weighting):
        if kwargs:
            raise ValueError(
                "Options are only accepted with a weighting name. "
                f"Received: kwargs={kwargs}"
            )
        return identifier
    if isinstance(identifier, dict):
        import keras

        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str):
        key = identifier.lower().replace("-", "_")
        if key in _REGISTRY:
            return _REGISTRY[key](**kwargs)
    raise ValueError(
        f"Unknown weighting method. Expected one of {list_weightings()} or a "
        f"mtlzoo.weighting.Weighting. Received: weighting={identifier!r}"
    )


__all__ = ["EqualWeighting", "FixedWeighting", "Weighting", "get"]
