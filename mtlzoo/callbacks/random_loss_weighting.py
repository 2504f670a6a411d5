"""Random Loss Weighting (Lin et al., 2021), as a callback."""

import keras

from mtlzoo.callbacks._method_callback import MethodCallback
from mtlzoo.weighting import rlw
from mtlzoo.weighting.rlw import DISTRIBUTIONS  # noqa: F401


@keras.saving.register_keras_serializable(package="mtlzoo")
class RandomLossWeighting(MethodCallback):
    """Draws new random task weights before every training step.

    The draws of `mtlzoo.weighting.RandomLossWeighting` (see there: the
    weights sum to 1; `"normal"`, `"uniform"`, `"dirichlet"` or
    `"bernoulli"`), assigned to the task weights of a model compiled with
    any weighting method at `on_train_batch_begin`. One numpy generator
    serves every `fit` the callback is passed to.

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

    method_class = rlw.RandomLossWeighting
    resets = False

    def __init__(self, distribution="normal", seed=None):
        super().__init__(distribution=distribution, seed=seed)
        self.distribution = distribution
        self.seed = seed

    @property
    def generator(self):
        """The numpy generator the weights are drawn with."""
        return self.method.generator

    def fresh_method(self):
        method = super().fresh_method()
        method.generator = self.method.generator
        return method

    def sample(self, count):
        """One draw of `count` weights (a numpy array summing to 1)."""
        return self.method.sample(count)

    def get_config(self):
        return {"distribution": self.distribution, "seed": self.seed}
