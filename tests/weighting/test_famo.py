"""FAMO against the authors' update."""

import numpy as np
import pytest
import tensorflow as tf
from weighting_helpers import make


def famo_reference(loss_sequence, lr=0.025, decay=0.01, optimizer="adam"):
    """Logits and weights of FAMO fed `loss_sequence`, in numpy.

    Transcribes the authors' `FAMO.update` (Adam with L2 weight decay,
    torch semantics) or Algorithm 1 (SGD), with the previous step's losses
    as the "before" losses.
    """
    count = len(loss_sequence[0])
    xi, m, v, t = np.zeros(count), np.zeros(count), np.zeros(count), 0
    logits, previous = [], None
    for losses in loss_sequence:
        losses = np.asarray(losses, "float64")
        if previous is not None:
            z = np.exp(xi) / np.exp(xi).sum()
            delta = np.log(previous + 1e-8) - np.log(losses + 1e-8)
            jacobian = np.diag(z) - np.outer(z, z)
            grad = jacobian.T @ delta + decay * xi
            if optimizer == "sgd":
                xi = xi - lr * grad
            else:
                t += 1
                m = 0.9 * m + 0.1 * grad
                v = 0.999 * v + 0.001 * grad**2
                m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
                xi = xi - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        previous = losses
        logits.append(xi.copy())
    return logits


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_famo_update_matches_reference(optimizer):
    sequence = [
        [1.0, 2.0, 0.5],
        [0.8, 1.9, 0.45],
        [0.7, 1.2, 0.44],
        [0.5, 1.1, 0.43],
        [0.45, 0.7, 0.40],
    ]
    kwargs = {"learning_rate": 0.5, "weight_decay": 0.01}
    method, _ = make("famo", 3, optimizer=optimizer, **kwargs)
    expected = famo_reference(sequence, lr=0.5, decay=0.01, optimizer=optimizer)
    step = tf.function(method.combine_losses)
    for losses, logits in zip(sequence, expected):
        losses = tf.constant(losses)
        loss = step(losses, tf.ones([3]), tf.ones([3]))
        np.testing.assert_allclose(
            method.logits.numpy(), logits, rtol=1e-4, atol=1e-5
        )
    z = np.exp(logits) / np.exp(logits).sum()
    shifted = np.asarray(sequence[-1]) + 1e-8
    c = (z / shifted).sum()
    np.testing.assert_allclose(
        loss.numpy(), (z * np.log(shifted)).sum() / c, rtol=1e-5
    )
    assert not np.allclose(logits, 0.0)


def test_famo_loss_gradient_is_paper_weighting():
    method, _ = make("famo", 3)
    method.logits.assign([0.3, -0.2, 0.1])
    losses = tf.Variable([0.5, 2.0, 1.0])
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, tf.ones([3]), tf.ones([3]))
    z = np.exp([0.3, -0.2, 0.1]) / np.exp([0.3, -0.2, 0.1]).sum()
    shifted = np.array([0.5, 2.0, 1.0]) + 1e-8
    c = (z / shifted).sum()
    np.testing.assert_allclose(
        tape.gradient(loss, losses).numpy(), z / (c * shifted), rtol=1e-5
    )


def test_famo_absent_task_is_left_out():
    method, _ = make("famo", 3, optimizer="sgd")
    method.combine_losses(
        tf.constant([1.0, 2.0, 3.0]), tf.ones([3]), tf.ones([3])
    )
    method.combine_losses(
        tf.constant([0.5, 50.0, 2.0]),
        tf.ones([3]),
        tf.constant([1.0, 0.0, 1.0]),
    )
    logits = method.logits.numpy()
    assert logits[1] == 0.0 and logits[0] != 0.0
    probabilities = method.task_probabilities(tf.constant([1.0, 0.0, 1.0]))
    assert probabilities.numpy()[1] == 0.0
