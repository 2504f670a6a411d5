"""Equal weighting: the sum of the task losses."""

import keras

from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting


@WEIGHTINGS.register("equal")
@keras.saving.register_keras_serializable(package="mtlzoo")
class EqualWeighting(Weighting):
    """Sum of task losses times the task-weight variables (1.0 each unless
    set by `loss_weights`, a task's `weight` or a callback).

    Example:

    >>> model.compile(optimizer="adam", weighting="equal")
    """
