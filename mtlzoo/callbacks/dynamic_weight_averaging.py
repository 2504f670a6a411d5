"""Dynamic Weight Averaging (Liu et al., 2019), as a callback."""

import keras

from mtlzoo.callbacks._method_callback import MethodCallback
from mtlzoo.weighting import dwa


@keras.saving.register_keras_serializable(package="mtlzoo")
class DynamicWeightAveraging(MethodCallback):
    """Weights tasks by how slowly their loss went down last epoch.

    The rule of `mtlzoo.weighting.DynamicWeightAveraging` (see there),
    applied to the task weights of a model compiled with any weighting
    method, starting over at every `fit`: after epoch `e` (from 1) the
    weights for epoch `e + 1` are

    `w_t = K exp(r_t / T) / sum_k exp(r_k / T)`,
    `r_t = L_t(e) / L_t(e - 1)`,

    and the first two epochs use weight 1 for every task.

    Args:
        temperature: float. Softness of the weighting; large values give
            equal weights. Defaults to 2.0.

    Example:

    >>> model.fit(ds, epochs=10,
    ...           callbacks=[DynamicWeightAveraging(temperature=2.0)])

    Reference:
        - [Liu et al., 2019. End-to-End Multi-Task Learning with Attention](
          https://arxiv.org/abs/1803.10704)
    """

    method_class = dwa.DynamicWeightAveraging

    def __init__(self, temperature=2.0):
        super().__init__(temperature=temperature)
        self.temperature = self.method.temperature

    def weights_from(self, older, newer):
        """Weights from two epochs' losses (task name -> float dicts)."""
        return self.method.weights_from(older, newer)

    def get_config(self):
        return {"temperature": self.temperature}
