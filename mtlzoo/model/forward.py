"""The forward pass of a train step, whole or cut at the shared features."""

import keras
import tensorflow as tf
from keras import ops


class ForwardPass:
    """Runs a multi-task model for a step.

    With `cut=True` the pass is split at the shared features (the tensors
    every task reads): a trunk model computes them, a task model takes them
    as its inputs. A task's gradient with respect to a shallow shared tensor
    (a dense head's skip) then does not also count the path through deeper
    shared stages. The two sub-models are made on first use and kept.

    Args:
        model: `MultiTaskModel`.

    Example:

    >>> forward = ForwardPass(model)
    >>> y_pred, shared = forward(x, cut=True)
    """

    def __init__(self, model):
        self.model = model
        self._cut_models = None

    def __call__(self, x, training=True, cut=False):
        """Run the model on `x`.

        Args:
            x: batch of images.
            training: bool. Training mode (dropout, BatchNorm statistics).
                Defaults to True.
            cut: bool. Also return the shared features, as tensors a tape
                can differentiate with respect to. Defaults to False.

        Returns:
            `(y_pred, shared)`: the dict of outputs by task, and the list of
            shared feature tensors (None when `cut` is False).
        """
        if not cut:
            return self.model(x, training=training), None
        trunk, rest = self._sub_models()
        shared = trunk(x, training=training)
        if not isinstance(shared, (list, tuple)):
            shared = [shared]
        shared = [tf.identity(t) for t in shared]
        return rest(shared, training=training), shared

    def has_regularization(self):
        """Whether layers added losses (`add_loss`) in the last pass."""
        return bool(self.model.losses)

    def regularization(self):
        """The sum of the losses the layers added (`add_loss`) in the pass,
        as a float32 scalar (zero when there are none)."""
        losses = self.model.losses
        if losses:
            return ops.sum(ops.stack([ops.cast(v, "float32") for v in losses]))
        return ops.zeros((), "float32")

    def _sub_models(self):
        if self._cut_models is None:
            model = self.model
            shared = list(model.shared_tensors)
            trunk = keras.Model(model.inputs, shared)
            rest = keras.Model(shared, model.outputs_dict())
            self._cut_models = (trunk, rest)
        return self._cut_models
