"""The model zoo: pretrained multi-task presets, one call to load.

Example:

>>> import mtlzoo
>>> mtlzoo.zoo.list_models()
>>> model = mtlzoo.zoo.load("fashion_tiny_test")
>>> mtlzoo.zoo.info("fashion_tiny_test")["delta_m"]
"""

from mtlzoo.zoo.card import info
from mtlzoo.zoo.evaluation import DataNotFoundError
from mtlzoo.zoo.evaluation import evaluate
from mtlzoo.zoo.loading import load
from mtlzoo.zoo.registry import get_config
from mtlzoo.zoo.registry import list_models
from mtlzoo.zoo.schema import validate_config

__all__ = [
    "DataNotFoundError",
    "evaluate",
    "get_config",
    "info",
    "list_models",
    "load",
    "validate_config",
]
