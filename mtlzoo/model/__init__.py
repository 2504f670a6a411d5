"""The multi-task model, its train step and `build()`."""

from mtlzoo.model.build import build
from mtlzoo.model.multi_task_model import MultiTaskModel

__all__ = ["MultiTaskModel", "build"]
