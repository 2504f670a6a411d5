"""The model zoo: pretrained multi-task presets, one call to load.

A preset is one folder under each of two homes: `zoo_configs/<name>/`
(`config.json`, the `README.md` card, `LICENSE`, `recipe.json`) and
`pretrained/<name>/` (its sha256-checked weights); see `registry`.

`list_models`, `info` and `get_config` read JSON only (the command line's
`mtlzoo list` and `mtlzoo info` use them without TensorFlow); `load`,
`from_preset`, `save_to_preset`, `evaluate`, `validate_config` and
`DataNotFoundError` are imported on first use, as are `postprocess`,
`square_box` and `crop_input` (outputs of presets that work on crops of a
photo, mapped back to the photo).

Example:

>>> import mtlzoo
>>> mtlzoo.zoo.list_models()
>>> model = mtlzoo.zoo.load("fashion_tiny_test")
>>> mtlzoo.zoo.info("fashion_tiny_test")["delta_m"]
"""

import importlib

from mtlzoo.presets.card import info
from mtlzoo.presets.registry import get_config
from mtlzoo.presets.registry import list_models

# Public name -> module; imported on first use (they import Keras).
_LAZY = {
    "DataNotFoundError": "mtlzoo.zoo.evaluation",
    "evaluate": "mtlzoo.zoo.evaluation",
    "from_preset": "mtlzoo.zoo.loading",
    "load": "mtlzoo.zoo.loading",
    "crop_input": "mtlzoo.zoo.post_processing",
    "postprocess": "mtlzoo.zoo.post_processing",
    "square_box": "mtlzoo.zoo.post_processing",
    "save_to_preset": "mtlzoo.presets.saving",
    "validate_config": "mtlzoo.presets.schema",
}

__all__ = [
    "DataNotFoundError",
    "evaluate",
    "from_preset",
    "get_config",
    "info",
    "list_models",
    "load",
    "crop_input",
    "postprocess",
    "square_box",
    "save_to_preset",
    "validate_config",
]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'mtlzoo.zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
