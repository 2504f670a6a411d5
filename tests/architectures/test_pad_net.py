"""PAD-Net distillation (mtlzoo/architectures/pad_net.py)."""

import numpy as np
import tensorflow as tf
from architecture_helpers import batch
from architecture_helpers import build
from architecture_helpers import total_loss

from mtlzoo.architectures import pad_net


def test_pad_net_distillation_weights_get_gradients():
    model = build("pad_net")
    units = [
        layer
        for layer in model.layers
        if isinstance(layer, pad_net.MultiModalDistillation)
    ]
    assert sorted(u.name for u in units) == sorted(
        f"{t.name}_distillation" for t in model.tasks
    )
    aux = model.get_layer("mask_pad_net_aux")
    assert aux.output.shape[-1] == 3
    variables = [w for u in units for w in u.trainable_weights]
    x, y = batch(model.tasks)
    with tf.GradientTape() as tape:
        loss = total_loss(model, x, y)
    for var, grad in zip(variables, tape.gradient(loss, variables)):
        assert grad is not None, var.path
        assert np.any(grad.numpy() != 0), var.path
