"""Keras callbacks: TensorBoard logging and images, and the loss-weighting
rules of `mtlzoo.weighting` (DWA, DTP, RLW) as callbacks for any model."""

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
