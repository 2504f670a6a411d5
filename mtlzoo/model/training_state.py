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
    """

    def __init__(self, model, variable_order):
        self.variable_order = variable_order
        self.forward = ForwardPass(model)
        self.partition = None
        self.compile_arguments = None
        self.task_gradient_fns = {}
