"""Task balancing methods, passed as `model.compile(weighting=...)`.

One method per module, the module's name being the method's canonical
name (`pcgrad.py` -> `"pcgrad"`); each registers itself where it is
defined. `list_weightings()` lists the names `get` accepts.
"""

from mtlzoo.weighting._callback import WeightingCallback
from mtlzoo.weighting._catalog import PRESETS
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.aligned_mtl import AlignedMTL
from mtlzoo.weighting.base import Weighting
from mtlzoo.weighting.base import setup_method
from mtlzoo.weighting.cagrad import CAGrad
from mtlzoo.weighting.dtp import DynamicTaskPrioritization
from mtlzoo.weighting.dwa import DynamicWeightAveraging
from mtlzoo.weighting.equal import EqualWeighting
from mtlzoo.weighting.famo import FAMO
from mtlzoo.weighting.fixed import FixedWeighting
from mtlzoo.weighting.grad_drop import GradDrop
from mtlzoo.weighting.grad_norm import GradNorm
from mtlzoo.weighting.imtl import IMTL
from mtlzoo.weighting.mgda import MGDA
from mtlzoo.weighting.nash_mtl import NashMTL
from mtlzoo.weighting.pcgrad import PCGrad
from mtlzoo.weighting.rlw import RandomLossWeighting
from mtlzoo.weighting.uncertainty import UncertaintyWeighting


def list_weightings():
    """Names accepted by `get` and `compile(weighting=...)`: canonical
    names, their aliases and presets (such as `"mgda_ub"`)."""
    names = set(WEIGHTINGS.names()) | set(WEIGHTINGS.aliases()) | set(PRESETS)
    return sorted(names)


def get(identifier, **kwargs):
    """Return a weighting object from a name, a config dict or an object.

    Args:
        identifier: str, dict, `Weighting` or None (equal weighting).
        **kwargs: constructor options when `identifier` is a name.

    Example:

    >>> mtlzoo.weighting.get("dwa", temperature=2.0)
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
        key = identifier.strip().lower().replace("-", "_")
        if key in PRESETS:
            key, preset = PRESETS[key]
            kwargs = dict(preset, **kwargs)
        if key in WEIGHTINGS:
            cls = WEIGHTINGS.get(key)
            try:
                return cls(**kwargs)
            except (TypeError, ValueError) as error:
                if "keyword argument" not in str(error):
                    raise
                raise ValueError(
                    f"Unknown option(s) for weighting method '{key}' "
                    f"({cls.__name__}): {error}. Received: kwargs={kwargs}"
                ) from None
    raise ValueError(
        f"Unknown weighting method. Expected one of {list_weightings()} or a "
        f"mtlzoo.weighting.Weighting. Received: weighting={identifier!r}"
    )


__all__ = [
    "AlignedMTL",
    "CAGrad",
    "DynamicTaskPrioritization",
    "DynamicWeightAveraging",
    "EqualWeighting",
    "FAMO",
    "FixedWeighting",
    "GradDrop",
    "GradNorm",
    "IMTL",
    "MGDA",
    "NashMTL",
    "PCGrad",
    "RandomLossWeighting",
    "UncertaintyWeighting",
    "Weighting",
    "WeightingCallback",
    "get",
    "list_weightings",
    "setup_method",
]
