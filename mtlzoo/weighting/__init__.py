"""Task balancing methods, passed as `model.compile(weighting=...)`."""

from mtlzoo.weighting.aligned_mtl import AlignedMTL
from mtlzoo.weighting.base import EqualWeighting
from mtlzoo.weighting.base import Weighting
from mtlzoo.weighting.cagrad import CAGrad
from mtlzoo.weighting.famo import FAMO
from mtlzoo.weighting.fixed_weighting import FixedWeighting
from mtlzoo.weighting.grad_drop import GradDrop
from mtlzoo.weighting.grad_norm import GradNorm
from mtlzoo.weighting.imtl import IMTL
from mtlzoo.weighting.mgda import MGDA
from mtlzoo.weighting.nash_mtl import NashMTL
from mtlzoo.weighting.pcgrad import PCGrad
from mtlzoo.weighting.uncertainty_weighting import UncertaintyWeighting

# alias -> class; every method registers here (tests parametrise over it).
_REGISTRY = {
    "equal": EqualWeighting,
    "fixed": FixedWeighting,
    "uncertainty": UncertaintyWeighting,
    "uncertainty_weighting": UncertaintyWeighting,
    "famo": FAMO,
    "gradnorm": GradNorm,
    "grad_norm": GradNorm,
    "mgda": MGDA,
    "pcgrad": PCGrad,
    "graddrop": GradDrop,
    "grad_drop": GradDrop,
    "cagrad": CAGrad,
    "imtl": IMTL,
    "nash_mtl": NashMTL,
    "nashmtl": NashMTL,
    "aligned_mtl": AlignedMTL,
    "alignedmtl": AlignedMTL,
}


# alias -> (registry name, preset options)
_ALIASES = {"mgda_ub": ("mgda", {"representation_gradients": True})}


def list_weightings():
    """Names accepted by `get` and `compile(weighting=...)`."""
    return sorted(set(_REGISTRY) | set(_ALIASES))


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
        if key in _ALIASES:
            key, preset = _ALIASES[key]
            kwargs = dict(preset, **kwargs)
        if key in _REGISTRY:
            return _REGISTRY[key](**kwargs)
    raise ValueError(
        f"Unknown weighting method. Expected one of {list_weightings()} or a "
        f"mtlzoo.weighting.Weighting. Received: weighting={identifier!r}"
    )


__all__ = [
    "AlignedMTL",
    "CAGrad",
    "EqualWeighting",
    "FAMO",
    "FixedWeighting",
    "GradDrop",
    "GradNorm",
    "IMTL",
    "MGDA",
    "NashMTL",
    "PCGrad",
    "UncertaintyWeighting",
    "Weighting",
    "get",
    "list_weightings",
]
