"""Homoscedastic uncertainty weighting (Kendall et al., 2018)."""

import keras
from keras import ops

from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_FACTORS = {"regression": 0.5, "classification": 1.0}
# Task kinds whose loss is a (softmax or sigmoid) classification
# likelihood; a box task's loss has a class term.
_CLASSIFICATION_KINDS = ("classification", "multilabel", "segmentation", "box")


@WEIGHTINGS.register("uncertainty", aliases=("uncertainty_weighting",))
@keras.saving.register_keras_serializable(package="mtlzoo")
class UncertaintyWeighting(Weighting):
    """Learned task weights from homoscedastic uncertainty.

    Each task gets a trainable log-variance `s_t = log(sigma_t^2)`,
    initialised to 0 and optimised with the model's optimizer. The training
    loss is

    `sum_t present_t * w_t * (c_t * exp(-s_t) * L_t + 0.5 * s_t)`

    with `c_t = 0.5` for a regression (Gaussian likelihood) task and
    `c_t = 1` for a classification (softmax likelihood) task, i.e.
    `L / (2 sigma^2) + log sigma` and `L / sigma^2 + log sigma`. `w_t` is
    the model's task weight (1.0 unless set); it scales the whole term, so
    a weight of 0 switches a task off without driving `s_t` to -inf.
    Absent tasks contribute nothing, and their `s_t` gets no gradient.

    Which likelihood a task gets: its entry in `task_types`, else
    `default_type` if given, else the task's kind as the model passes it
    to `setup` (`compile(weighting="uncertainty")` does):
    classification for the kinds `"classification"`, `"multilabel"`,
    `"segmentation"` and `"box"` (its loss has a class term), regression
    for the others (`"regression"`, `"depth"`, `"normals"`, ...) and for a
    task whose kind is not known. `resolved_types()` tells what was
    chosen.

    Args:
        task_types: dict. Task name -> `"regression"` or
            `"classification"`. Defaults to None (every task by the rule
            above).
        default_type: str or None. Likelihood of tasks not in
            `task_types`; None picks it from the task's kind. Defaults to
            None.

    Example:

    >>> model.compile(optimizer="adam", weighting="uncertainty")
    >>> model.weighting.resolved_types()
    {'garment': 'classification', 'ink': 'regression'}

    Reference:
        - [Kendall et al., 2018. Multi-Task Learning Using Uncertainty to
          Weigh Losses for Scene Geometry and Semantics](
          https://arxiv.org/abs/1705.07115)
    """

    def __init__(self, task_types=None, default_type=None, **kwargs):
        super().__init__(**kwargs)
        task_types = dict(task_types or {})
        for name, kind in task_types.items():
            if kind not in _FACTORS:
                raise ValueError(
                    f"Task type of '{name}' must be one of {list(_FACTORS)}. "
                    f"Received: task_types[{name!r}]={kind!r}"
                )
        if default_type is not None and default_type not in _FACTORS:
            raise ValueError(
                f"`default_type` must be one of {list(_FACTORS)} or None. "
                f"Received: default_type={default_type!r}"
            )
        self.task_types = task_types
        self.default_type = default_type
        object.__setattr__(self, "task_kinds", {})

    def setup(self, task_names, task_weights, tasks=None):
        unknown = sorted(set(self.task_types) - set(task_names))
        if unknown:
            raise ValueError(
                f"UncertaintyWeighting names unknown tasks {unknown}; the "
                f"model has {list(task_names)}. "
                f"Received: task_types={self.task_types}"
            )
        kinds = {t.name: t.kind for t in tasks or ()}
        object.__setattr__(self, "task_kinds", kinds)
        super().setup(task_names, task_weights, tasks=tasks)

    def build_state(self, num_tasks):
        self.log_variances = self.add_weight(
            shape=(num_tasks,),
            initializer="zeros",
            trainable=True,
            name="log_variances",
        )

    def resolved_types(self):
        """Task name -> `"regression"` or `"classification"`, as used."""
        types = {}
        for name in self.task_names or []:
            if name in self.task_types:
                types[name] = self.task_types[name]
            elif self.default_type is not None:
                types[name] = self.default_type
            elif self.task_kinds.get(name) in _CLASSIFICATION_KINDS:
                types[name] = "classification"
            else:
                types[name] = "regression"
        return types

    def factors(self):
        """`(T,)` likelihood factors `c_t` (0.5 regression, 1 class.)."""
        types = self.resolved_types()
        return [_FACTORS[types[name]] for name in self.task_names or []]

    def combine_losses(self, losses, weights, present):
        losses = ops.cast(losses, "float32")
        factors = ops.convert_to_tensor(self.factors(), "float32")
        s = ops.cast(self.log_variances, "float32")
        terms = factors * ops.exp(-s) * losses + 0.5 * s
        mask = ops.cast(present, "float32") > 0
        terms = ops.where(mask, ops.cast(weights, "float32") * terms, 0.0)
        return ops.sum(terms)

    def get_config(self):
        config = super().get_config()
        config["task_types"] = dict(self.task_types)
        config["default_type"] = self.default_type
        return config
