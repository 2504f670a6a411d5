"""Random Loss Weighting (Lin et al., 2021)."""

import keras
import numpy as np

from mtlzoo.weighting import _logs
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

DISTRIBUTIONS = ("normal", "uniform", "dirichlet", "bernoulli")
_WORD = 0xFFFFFFFF


@WEIGHTINGS.register("rlw", aliases=("random_loss_weighting",))
@keras.saving.register_keras_serializable(
    package="mtlzoo", name="RandomLossWeightingMethod"
)
class RandomLossWeighting(Weighting):
    """Draws new random task weights before every training step.

    The weights sum to 1, as in the paper (equal weighting sums to the
    number of tasks `K`: scale the learning rate by `K` to compare):

    - `"normal"`: `softmax(eps)`, `eps ~ N(0, I)` (the paper's default);
    - `"uniform"`: `softmax(eps)`, `eps ~ U(0, 1)^K`;
    - `"dirichlet"`: `Dirichlet(1, ..., 1)`;
    - `"bernoulli"`: each task on with probability 1/2 (at least one, drawn
      uniformly if none is), normalised over the tasks that are on.

    Weights are drawn on the host with a numpy generator and assigned to
    the model's task-weight variables before every step (by the callback
    `callbacks()` returns, which `fit` adds), so each step uses fresh
    weights (with `steps_per_execution > 1`, each execution does); the
    step is the weighted sum of the task losses. The generator's state is
    copied to a Keras variable after every draw, so it is saved with the
    model and a reloaded model draws the same sequence on.
    `mtlzoo.callbacks.RandomLossWeighting` does the same on any model, with
    any other weighting method.

    Args:
        distribution: str. One of `"normal"`, `"uniform"`, `"dirichlet"`,
            `"bernoulli"`. Defaults to `"normal"`.
        seed: int or None. Seed of the generator. Defaults to None.
        representation_gradients: bool. Unused (a loss-level method).

    Example:

    >>> model.compile(optimizer="adam", weighting=RandomLossWeighting(seed=0))

    Reference:
        - [Lin et al., 2021. Reasonable Effectiveness of Random Weighting: A
          Litmus Test for Multi-Task Learning](
          https://arxiv.org/abs/2111.10603)
    """

    def __init__(self, distribution="normal", seed=None, **kwargs):
        super().__init__(**kwargs)
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

    def build_state(self, num_tasks):
        # The PCG64 state (two 128-bit ints and the cached 32-bit draw) in
        # 32-bit words; all zeros until the first draw.
        self.generator_state = self.add_weight(
            shape=(10,),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            name="generator_state",
            aggregation="only_first_replica",
        )

    def reset_state(self):
        self.generator = np.random.default_rng(self.seed)
        if self.built:
            self.generator_state.assign(np.zeros(10, "int64"))

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

    def on_train_begin(self, logs=None):
        _logs.check_setup(self)
        self._sync_generator()

    def on_train_batch_begin(self, batch, logs=None):
        _logs.check_setup(self)
        # The variable may have been loaded since (by BackupAndRestore,
        # whose `on_train_begin` may run after this method's).
        self._sync_generator()
        weights = self.sample(len(self.task_names))
        _logs.assign_task_weights(
            self, {t: float(w) for t, w in zip(self.task_names, weights)}
        )
        self.generator_state.assign(_pack(self.generator.bit_generator.state))

    def _sync_generator(self):
        """Take the generator state from the variable when it holds one
        the generator is not at (saved by an earlier fit, or loaded)."""
        words = self.generator_state.numpy()
        current = _pack(self.generator.bit_generator.state)
        if words.any() and not np.array_equal(words, current):
            self.generator.bit_generator.state = _unpack(words)

    def get_config(self):
        config = super().get_config()
        config.update({"distribution": self.distribution, "seed": self.seed})
        return config


def _words(value):
    return [(value >> shift) & _WORD for shift in (96, 64, 32, 0)]


def _pack(state):
    """A PCG64 state dict as 10 int64 words."""
    pcg = state["state"]
    words = _words(pcg["state"]) + _words(pcg["inc"])
    words += [int(state["has_uint32"]), int(state["uinteger"])]
    return np.array(words, "int64")


def _unpack(words):
    """The PCG64 state dict of `_pack`'s words."""
    words = [int(w) for w in words]

    def join(part):
        return sum(w << shift for w, shift in zip(part, (96, 64, 32, 0)))

    return {
        "bit_generator": "PCG64",
        "state": {"state": join(words[0:4]), "inc": join(words[4:8])},
        "has_uint32": words[8],
        "uinteger": words[9],
    }
