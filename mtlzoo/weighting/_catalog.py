"""The catalog of weighting methods: one registry, filled by the modules.

Every method module registers its class where it is defined:

>>> @WEIGHTINGS.register("grad_norm", aliases=("gradnorm",))
... class GradNorm(Weighting): ...

The canonical name is the module's file name. A *preset* is a name for a
method with fixed options (`"mgda_ub"` = MGDA with representation
gradients), registered with `register_preset` next to its method.
"""

from mtlzoo._registry import Registry

WEIGHTINGS = Registry("weighting method", "weighting")

# preset name -> (canonical method name, options)
PRESETS = {}


def register_preset(name, method, **options):
    """Name `method` (a registered name) with preset constructor options.

    `get(name, **kwargs)` builds `method` with `options` updated by
    `kwargs`.
    """
    if name in WEIGHTINGS or name in PRESETS:
        raise ValueError(
            f"The weighting name '{name}' is already taken. "
            f"Received: name={name!r}"
        )
    PRESETS[name] = (method, dict(options))
