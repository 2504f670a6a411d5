"""Random Loss Weighting (Lin et al., 2021)."""

import keras
import numpy as np

from mtlzoo.callbacks import _task_weights

DISTRIBUTIONS = ("normal", "uniform", "dirichlet", "bernoulli")


@keras.saving.register_keras_serializable(package="mtlzoo")
class RandomLossWeighting(keras.callbacks.Callback):
    """Draws new random task weights before every training step.

    The weights sum to 1, as in the paper (equal weighting sums to the
    number of tasks `K`: scale the learning rate by `K` to compare):

    - `"normal"`: `softmax(eps)`, `eps ~ N(0, I)` (the paper's default);
    - `"uniform"`: `softmax(eps)`, `eps ~ U(0, 1)^K`;
    - `"dirichlet"`: `Dirichlet(1, ..., 1)`;
    - `"bernoulli"`: each task on with probability 1/2 (at least one, drawn
      uniformly if none is), normalised over the tasks that are on.

    Weights are drawn on the host with a numpy generator and assigned to
    the model's task-weight variables at `on_train_batch_begin`, so each
    step uses fresh weights (with `steps_per_execution > 1`, each
    execution does).

    Args:
        distribution: str. One of `"normal"`, `"uniform"`, `"dirichlet"`,
            `"bernoulli"`. Defaults to `"normal"`.
        seed: int or None. Seed of the generator. Defaults to None.

    Example:

    >>> model.fit(ds, epochs=10, callbacks=[RandomLossWeighting(seed=0)])

    Reference:
        - [Lin et al., 2021. Reasonable Effectiveness of Random Weighting: A
          Litmus Test for Multi-Task Learning](
          https://arxiv.org/abs/2111.10603)
    """

    def __init__(self, distribution="normal", seed=None):
        super().__init__()
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"`distribution` must be one of {list(DISTRIBUTIONS)}. "
                f"Received: distribution={distribution!r}"
            )
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int)
        ):
            raise ValueError(
                f"`seed` must be an int or None. Received: seed={seed!r}"
            )
        self.distribution = distribution
        self.seed = seed
        self.generator = np.random.default_rng(seed)

    def sample(self, count):
        """One draw of `count` weights (a numpy array summing to 1)."""
        rng = self.generator
        if self.distribution in ("normal", "uniform"):
            if self.distribution == "normal":
                logits = rng.standard_normal(count)
            else:
                logits = rng.uniform(size=count)
            exp = np.exp(logits - logits.max())
            return exp / exp.sum()
        if self.distribution == "dirichlet":
            return rng.dirichlet(np.ones(count))
        on = (rng.uniform(size=count) < 0.5).astype("float64")
        if not on.any():
            on[rng.integers(count)] = 1.0
        return on / on.sum()

    def on_train_batch_begin(self, batch, logs=None):
        names = _task_weights.task_names(self)
        weights = self.sample(len(names))
        _task_weights.assign_task_weights(
            self, {task: float(w) for task, w in zip(names, weights)}
        )

    def get_config(self):
        return {"distribution": self.distribution, "seed": self.seed}
