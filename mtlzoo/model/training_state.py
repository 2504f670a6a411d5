"""Training bookkeeping of a `MultiTaskModel`, kept out of Keras' sight."""

from mtlzoo.model.forward import ForwardPass


class TrainingState:
    """Training bookkeeping of a `MultiTaskModel`, out of Keras' sight.

    Keras tracks the Variables, Layers and Metrics (and lists or dicts of
    them) assigned as attributes of a model, and would count the lists of
    variables kept here as the model's own. An instance of this plain class
    is not tracked, so the model keeps it as an ordinary attribute.

    Args:
        model: the `MultiTaskModel` it belongs to.
        variable_order: list of the model's variables in construction order.

    Attributes:
        variable_order: the model's variables in construction order (Keras
            may reorder `trainable_variables` once sub-models are made from
            the graph; gradients and optimizer slots use this order).
        forward: `ForwardPass` of the model (keeps its cut sub-models).
        partition: `VariablePartition`, set by `compile()` (or on first
            use).
        compile_arguments: dict, the `compile()` arguments, for
            `get_compile_config()`.
        task_gradient_fns: dict, compiled `task_gradients` functions by
            mode.

    `build_optimizers(model)` creates the optimizers' slots in the order
    the train step uses (`compile_from_config` and `fit` call it).
    """

    def __init__(self, model, variable_order):
        self.variable_order = variable_order
        self.forward = ForwardPass(model)
        self.partition = None
        self.compile_arguments = None
        self.task_gradient_fns = {}

    def build_optimizers(self, model):
        """Create the optimizers' slots for the variables they update.

        The main optimizer gets `partition.main_variables` and each head
        optimizer its task's `partition.head_variables`, in the partition's
        order: the order the train step applies gradients in, and so the
        order of their slots in a saved weights file. Keras would
        otherwise build the main optimizer over `model.trainable_variables`
        when it needs it first (`keras.callbacks.BackupAndRestore` before
        loading a backup, `tf.distribute`) and leave the head optimizers
        unbuilt, so a backup's slots would be skipped ("Skipping variable
        loading for optimizer") or land on the wrong variables. Optimizers
        already built are left as they are.

        Args:
            model: the compiled `MultiTaskModel`.
        """
        partition = self.partition
        if partition is None or not model.built:
            return
        pairs = [(getattr(model, "optimizer", None), partition.main_variables)]
        for name, optimizer in getattr(model, "head_optimizers", {}).items():
            pairs.append((optimizer, partition.head_variables[name]))
        for optimizer, variables in pairs:
            if optimizer is not None and not optimizer.built:
                with model.distribute_strategy.scope():
                    optimizer.build(variables)


def replace_tracked(model, name, value):
    """Set `model.<name> = value`, untracking the object it held before.

    Keras tracks a layer assigned as an attribute (its variables join
    `model.weights`) and keeps tracking it when the attribute is assigned
    again: a re-compiled model would keep the old weighting method's
    variables in `model.weights` and in saved weight files. The old value
    is untracked first, so the model tracks what a fresh one would.
    """
    old = getattr(model, name, None)
    tracker = getattr(model, "_tracker", None)
    if old is not None and old is not value and tracker is not None:
        tracker.untrack(old)
    setattr(model, name, value)
