"""Search objectives that are right for tasks on different scales.

keras-tuner's own multi-objective is the unweighted sum of raw metrics: an
accuracy in 0..1 next to a mean absolute error in pixels counts the pixels
a hundred times more. The objectives here first bring each task's primary
metric to a common, signed, relative scale.
"""

import math

import keras_tuner as kt

from mtlzoo.tasks import metric_directions
from mtlzoo.tasks import validate_tasks

SCORES = ("delta_m", "weighted_sum")
COSTS = ("params", "step_time")
# Keys that `MultiTaskHyperModel.fit` adds to the epoch logs.
COST_KEYS = {"params": "params", "step_time": "step_time"}


def metric_direction(metric):
    """Whether a larger value of a primary metric name is better.

    Args:
        metric: str. A log name such as `"garment_accuracy"`.

    Returns:
        bool, or None for a name that is no primary metric of a
        registered task kind.
    """
    # Longest suffixes first; read at call time, so kinds registered
    # later count too.
    suffixes = sorted(
        metric_directions(primary_only=True).items(),
        key=lambda item: -len(item[0]),
    )
    for suffix, higher in suffixes:
        if metric.endswith("_" + suffix):
            return higher
    return None


class MultiTaskObjective(kt.Objective):
    """A keras-tuner objective combining the primary metric of every task.

    The value is computed from the raw epoch logs (`val_garment_accuracy`,
    `val_ink_mae`, ...) in `get_value`, so keras-tuner uses it everywhere it
    uses an objective: to pick the best epoch of a trial, to checkpoint it,
    to score trials and to rank them. If the logs already hold the value
    under `name` (as `MultiTaskHyperModel.fit` writes it when given this
    objective), that value is used.

    Scores (`score=`):
    - `"delta_m"`: Maninis et al. 2019 / Vandenhende et al. 2021,
      `100 / T * sum_t s_t (M_t - B_t) / |B_t|` with `s_t = +1` when higher
      is better, else `-1`, against single-task baselines `B_t`. Percent;
      higher is better; 0 means "as good as separate single-task models".
    - `"weighted_sum"`: `sum_t w_t s_t M_t / |S_t| / sum_t w_t`, with task
      weights `w_t` and scales `S_t` (the baselines unless `scales=` is
      given). Equal to a weighted delta_m up to a constant when the scales
      are the baselines.

    A cost-aware variant (`cost=`) subtracts `cost_weight * log2(C / C_0)`
    from the score, where `C` is the trial's parameter count (`"params"`)
    or median training step time in seconds (`"step_time"`) and `C_0` is
    `cost_reference` (default 1; it shifts every score alike and so never
    changes the ranking). `cost_weight` is how many score points one
    doubling of the cost is worth: with `cost_weight=1`, a model twice as
    large must gain one point of delta_m to tie.

    Args:
        name: str. Objective name (log key). Must start with `"val_"` to
            score validation metrics.
        score: str. `"delta_m"` or `"weighted_sum"`.
        baselines: dict. Primary metric name (without `val_`, e.g.
            `"garment_accuracy"`) -> single-task value.
        higher_is_better: dict. Metric name -> bool, for metrics whose
            direction cannot be read from their name.
        weights: dict. Metric or task name -> weight, for `"weighted_sum"`.
            Defaults to 1 each.
        scales: dict. Metric name -> scale, for `"weighted_sum"`. Defaults
            to the baselines.
        cost: str. `None`, `"params"` or `"step_time"`.
        cost_weight: float. Score points per doubling of the cost.
        cost_reference: float. Cost `C_0` that costs nothing.
    """

    def __init__(
        self,
        name,
        score="delta_m",
        baselines=None,
        higher_is_better=None,
        weights=None,
        scales=None,
        cost=None,
        cost_weight=1.0,
        cost_reference=1.0,
    ):
        super().__init__(name=name, direction="max")
        if score not in SCORES:
            raise ValueError(
                f"Unknown score; expected one of {list(SCORES)}. "
                f"Received: score={score!r}"
            )
        if cost is not None and cost not in COSTS:
            raise ValueError(
                f"Unknown cost; expected None or one of {list(COSTS)}. "
                f"Received: cost={cost!r}"
            )
        if score == "delta_m" and scales is not None:
            raise ValueError(
                "`scales` apply to the 'weighted_sum' score; delta_m divides "
                f"by the baselines. Received: scales={scales!r}"
            )
        reference = scales if scales is not None else baselines
        if not isinstance(reference, dict) or not reference:
            arg = "scales" if score == "weighted_sum" else "baselines"
            raise ValueError(
                f"Objective '{name}' needs single-task baselines (a dict "
                "metric -> value, e.g. from "
                "`mtlzoo.tuning.measure_baselines`)"
                + (" or `scales`" if score == "weighted_sum" else "")
                + f". Received: {arg}={reference!r}"
            )
        self.score = score
        self.prefix = "val_" if name.startswith("val_") else ""
        self.baselines = {k: float(v) for k, v in (baselines or {}).items()}
        self.scales = {k: float(v) for k, v in reference.items()}
        directions = dict(higher_is_better or {})
        for metric in self.scales:
            if metric not in directions:
                directions[metric] = metric_direction(metric)
            if directions[metric] is None:
                raise ValueError(
                    f"Cannot tell whether a larger '{metric}' is better; "
                    "pass higher_is_better={metric: bool}. "
                    f"Received: higher_is_better={higher_is_better!r}"
                )
        for metric, value in self.scales.items():
            if value == 0 or not math.isfinite(value):
                raise ValueError(
                    f"The baseline or scale of '{metric}' must be finite "
                    f"and non-zero. Received: {metric}={value!r}"
                )
        self.higher_is_better = {m: bool(directions[m]) for m in self.scales}
        self.weights = _metric_weights(weights, list(self.scales))
        self.cost = cost
        self.cost_weight = float(cost_weight)
        self.cost_reference = float(cost_reference)
        if self.cost_reference <= 0:
            raise ValueError(
                "`cost_reference` must be positive. "
                f"Received: cost_reference={cost_reference!r}"
            )

    @property
    def metrics(self):
        """Log keys the score reads (`val_` prefixed for validation)."""
        keys = [self.prefix + m for m in self.scales]
        if self.cost:
            keys.append(COST_KEYS[self.cost])
        return keys

    def has_value(self, logs):
        logs = logs or {}
        return self.name in logs or all(k in logs for k in self.metrics)

    def get_value(self, logs):
        if self.name in logs:
            return float(logs[self.name])
        return self.compute(logs)

    def compute(self, logs):
        """The score of one set of logs (ignores a precomputed value)."""
        missing = [k for k in self.metrics if k not in logs]
        if missing:
            raise ValueError(
                f"Objective '{self.name}' needs the log keys {missing}. "
                f"Received: logs keys={sorted(logs)}"
            )
        terms, total = [], 0.0
        for metric, scale in self.scales.items():
            value = float(logs[self.prefix + metric])
            sign = 1.0 if self.higher_is_better[metric] else -1.0
            if self.score == "delta_m":
                terms.append(sign * (value - scale) / abs(scale))
            else:
                w = self.weights[metric]
                terms.append(w * sign * value / abs(scale))
                total += w
        if self.score == "delta_m":
            value = 100.0 * sum(terms) / len(terms)
        else:
            value = sum(terms) / total
        if self.cost:
            cost = float(logs[COST_KEYS[self.cost]])
            value -= self.cost_weight * math.log2(
                max(cost, 1e-12) / self.cost_reference
            )
        return value

    def __str__(self):
        extra = f", cost={self.cost!r}" if self.cost else ""
        return (
            f'MultiTaskObjective(name="{self.name}", score="{self.score}"'
            f"{extra})"
        )


def _metric_weights(weights, metrics):
    if weights is None:
        return {m: 1.0 for m in metrics}
    if not isinstance(weights, dict):
        raise ValueError(
            "`weights` must be a dict metric or task name -> weight. "
            f"Received: weights={weights!r}"
        )
    out = {}
    for metric in metrics:
        task = next((k for k in weights if metric.startswith(f"{k}_")), None)
        value = weights.get(metric, weights.get(task, 1.0))
        if not isinstance(value, (int, float)) or value < 0:
            raise ValueError(
                f"The weight of '{metric}' must be a non-negative number. "
                f"Received: weights={weights!r}"
            )
        out[metric] = float(value)
    unknown = [
        k
        for k in weights
        if k not in metrics and not any(m.startswith(f"{k}_") for m in metrics)
    ]
    if unknown or sum(out.values()) <= 0:
        raise ValueError(
            f"`weights` must name known tasks or metrics {metrics} and not "
            f"be all zero. Received: weights={weights!r}"
        )
    return out


def baselines_by_metric(baselines, tasks=None):
    """Key a baselines dict by primary metric name.

    Args:
        baselines: dict. Task name or primary metric name -> value.
        tasks: list of `mtlzoo.Task`. Needed when keys are task names.

    Returns:
        dict primary metric name -> float.
    """
    if not isinstance(baselines, dict):
        raise ValueError(
            "`baselines` must be a dict (metric or task name -> value). "
            f"Received: baselines={baselines!r}"
        )
    by_task = {}
    if tasks is not None:
        by_task = {t.name: t.primary_metric for t in validate_tasks(tasks)}
    out = {}
    for key, value in baselines.items():
        out[by_task.get(key, key)] = float(value)
    return out


def objective(
    name="val_delta_m",
    baselines=None,
    tasks=None,
    weights=None,
    scales=None,
    higher_is_better=None,
    cost=None,
    cost_weight=1.0,
    cost_reference=1.0,
):
    """A keras-tuner objective scoring all tasks on one scale.

    Args:
        name: str. `"val_delta_m"` (delta_m of the validation primary
            metrics against single-task baselines) or `"val_weighted_sum"`
            (weighted sum of scale-normalised primary metrics); without
            `val_` the training metrics are scored.
        baselines: dict or str. Single-task baselines, keyed by task or
            primary metric name, or the path of a JSON file written by
            `measure_baselines`.
        tasks: list of `mtlzoo.Task`. Lets `baselines`/`weights` be keyed
            by task name.
        weights: dict. Task or metric name -> weight (`weighted_sum`).
        scales: dict. Task or metric name -> scale (`weighted_sum`);
            defaults to the baselines.
        higher_is_better: dict. Metric name -> bool, for custom metrics.
        cost: str. None, `"params"` or `"step_time"`: subtract
            `cost_weight * log2(cost / cost_reference)`. The objective's
            name then gets the suffix `_cost` (`"val_delta_m_cost"`).
        cost_weight: float. Score points per doubling of the cost.
            Defaults to 1.
        cost_reference: float. Cost that is free. Defaults to 1.

    Returns:
        A `MultiTaskObjective` (a `keras_tuner.Objective`, direction max).

    Example:

    >>> obj = mtlzoo.tuning.objective(
    ...     "val_delta_m", baselines={"a_accuracy": 0.5, "b_mae": 0.5})
    >>> obj.get_value({"val_a_accuracy": 0.75, "val_b_mae": 0.5})
    25.0

    Reference:
    - [Maninis et al., 2019](https://arxiv.org/abs/1904.08918)
    - [Vandenhende et al., 2021](https://arxiv.org/abs/2004.13379)
    """
    if not isinstance(name, str):
        raise ValueError(f"`name` must be a string. Received: name={name!r}")
    base = name[4:] if name.startswith("val_") else name
    if base not in SCORES:
        raise ValueError(
            "Unknown objective; expected 'val_delta_m', "
            f"'val_weighted_sum' (or without 'val_'). Received: name={name!r}"
        )
    if isinstance(baselines, str):
        from mtlzoo.tuning.baselines import load_baselines

        baselines = load_baselines(baselines)
    if baselines is not None:
        baselines = baselines_by_metric(baselines, tasks)
    if scales is not None:
        scales = baselines_by_metric(scales, tasks)
    return MultiTaskObjective(
        name if cost is None else f"{name}_cost",
        score=base,
        baselines=baselines,
        higher_is_better=higher_is_better,
        weights=weights,
        scales=scales,
        cost=cost,
        cost_weight=cost_weight,
        cost_reference=cost_reference,
    )
