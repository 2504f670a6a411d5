"""What a weighting method reports about its steps, kept out of the saved
state: the weights it applied last and whether its solver converged.

The variables here are attached to a method without Keras tracking them
(`object.__setattr__`), so adding one does not change the variables a
`.keras` file holds; they are recomputed at every step.
"""

import sys

import keras
import tensorflow as tf


def attach(method, name, shape=(), dtype="float32", value=0.0):
    """Create an untracked non-trainable variable `method.<name>`."""
    variable = keras.Variable(
        initializer=keras.initializers.Constant(value),
        shape=shape,
        dtype=dtype,
        trainable=False,
        aggregation="only_first_replica",
        name=name,
    )
    object.__setattr__(method, name, variable)
    return variable


def record_solver(method, converged, residual, message):
    """Store a solve's outcome on `method` and warn once when it failed.

    Sets `method.solver_converged` (1.0 or 0.0) and
    `method.solver_residual`; the first time a solve does not converge,
    prints `message` and the residual to stderr with `tf.print` (graph
    mode too). Needs `attach_solver(method)` first.

    Args:
        method: the `Weighting`.
        converged: bool scalar tensor.
        residual: float scalar tensor, the solver's final residual.
        message: str. What to print (without the residual).
    """
    failed = tf.logical_not(converged)
    warned = tf.identity(method.solver_warned.value)
    method.solver_converged.assign(tf.cast(converged, "float32"))
    method.solver_residual.assign(tf.cast(residual, "float32"))

    def warn():
        tf.print(
            f"WARNING: {type(method).__name__}: {message} Residual:",
            residual,
            output_stream=sys.stderr,
        )
        return tf.constant(True)

    # Only the print is conditional: assigning a mirrored variable inside
    # control flow is not allowed in a replica context.
    tf.cond(failed & (warned < 0.5), warn, lambda: tf.constant(False))
    method.solver_warned.assign(tf.maximum(warned, tf.cast(failed, "float32")))


def attach_solver(method):
    """Create `solver_converged`, `solver_residual` and `solver_warned`."""
    attach(method, "solver_converged", value=1.0)
    attach(method, "solver_residual", value=0.0)
    attach(method, "solver_warned", value=0.0)
