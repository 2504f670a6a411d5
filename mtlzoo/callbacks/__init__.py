"""Keras callbacks that set the model's task weights during training."""

from mtlzoo.callbacks.dense_prediction_images import DensePredictionImages
from mtlzoo.callbacks.dynamic_task_prioritization import (
    DynamicTaskPrioritization,
)
from mtlzoo.callbacks.dynamic_weight_averaging import DynamicWeightAveraging
from mtlzoo.callbacks.random_loss_weighting import RandomLossWeighting
from mtlzoo.callbacks.task_balance_logger import TaskBalanceLogger

__all__ = [
    "DensePredictionImages",
    "DynamicTaskPrioritization",
    "DynamicWeightAveraging",
    "RandomLossWeighting",
    "TaskBalanceLogger",
]
