"""What of `MultiTaskModel` trains: `freeze`, `unfreeze`, the
BatchNormalization policy, the summary tree, and the partition of the
trainable variables that `compile()` makes."""

from mtlzoo.model.batch_norm import batch_norm_layers
from mtlzoo.model.batch_norm import check_batch_norm
from mtlzoo.model.batch_norm import exempt
from mtlzoo.model.freezing import apply_trainable
from mtlzoo.model.freezing import check_freeze_until
from mtlzoo.model.freezing import tree_lines
from mtlzoo.model.variable_partition import VariablePartition


class TrainabilityMixin:
    """Freezing, BatchNorm policy and variable partition of
    `MultiTaskModel` (listed before `keras.Model` in its bases)."""

    def freeze(self, until="backbone"):
        """Freeze the backbone stages up to a level, in one call.

        Stages at `until` and shallower levels get `trainable=False`, in
        the shared trunk and in every branch's own copies; their
        BatchNormalization layers then run in inference mode. Heads and
        later stages train. As in Keras, call `compile()` again before
        `fit` (`fit` raises a clear error otherwise). Kept by
        `get_config()`, so saved and cloned configs freeze the same way.

        Args:
            until: str. A level of the backbone (`model.levels`, e.g.
                `"P3"`), or `"backbone"`: every stage, so that only the
                heads (and the modules of architectures other than hard
                sharing) train. Defaults to `"backbone"`.

        Example:

        >>> model = mtlzoo.load("fashion_tiny_test")
        >>> model.freeze(until="P3")  # P4, P5 and the heads train
        >>> model.compile(optimizer="adam")
        >>> model.summary()  # counts, and the tree with what is frozen
        """
        self.freeze_until = check_freeze_until(until, self.levels)
        if self.freeze_until is None:
            raise ValueError(
                "`until` must be a level or 'backbone'; use `unfreeze()` to "
                f"train every stage. Received: until={until!r}"
            )
        apply_trainable(self)

    def unfreeze(self):
        """Train every stage again (undoes `freeze`); the BatchNorm policy
        stays. Call `compile()` again before `fit`."""
        self.freeze_until = None
        apply_trainable(self)

    def set_batch_norm(self, policy, train_layers=None):
        """Set the BatchNormalization policy (see the `batch_norm` argument).

        Args:
            policy: str. `"train"`, `"frozen"` or `"recalibrate"`.
            train_layers: list of str. Under `"frozen"`, the layers (names;
                `"stage/layer"` inside a stage model; a model name covers
                the layers inside it) whose BatchNormalization keeps
                training: the freshly initialised ones. `from_preset`
                passes those it did not load; names holding no
                BatchNormalization are ignored. Defaults to None.

        Call `compile()` again before `fit`.
        """
        self.batch_norm_policy, layers = check_batch_norm(
            {"policy": policy, "train_layers": list(train_layers or [])}
        )
        if self.batch_norm_policy != "frozen":
            layers = []
        paths = [path for path, _ in batch_norm_layers(self)]
        self.batch_norm_train_layers = tuple(
            n for n in layers if any(exempt(p, [n]) for p in paths)
        )
        apply_trainable(self)

    def summary(self, *args, **kwargs):
        """`keras.Model.summary` (layers, total, trainable and
        non-trainable parameter counts), then the tree: the trunk stages,
        the stages each branch group owns, the heads, and what is frozen.
        Arguments are those of `keras.Model.summary`."""
        super().summary(*args, **kwargs)
        print_fn = kwargs.get("print_fn")
        if print_fn is None and len(args) > 2:
            print_fn = args[2]
        text = "\n".join(tree_lines(self))
        if print_fn is None:
            print(text)
        else:
            print_fn(text)

    @property
    def variable_partition(self):
        """The `VariablePartition` of the trainable variables, made by
        `compile()` (None before)."""
        return self._state.partition

    def _partition(self):
        """The partition, computed now (`compile()` keeps it)."""
        extra = self.weighting.trainable_variables if self.weighting else []
        return VariablePartition.from_model(
            self,
            order=self._state.variable_order,
            extra_variables=extra,
            head_optimizer_tasks=getattr(self, "head_optimizers", {}),
        )

    # Names of the partition before it was an object (read by older code).
    @property
    def _all_shared(self):
        return self._compiled_partition().shared_variables

    @property
    def _head_variables(self):
        return self._compiled_partition().head_variables

    def _compiled_partition(self):
        if self._state.partition is None:
            raise AttributeError(
                "The variable partition is made by `compile()`. "
                "Received: a model that was not compiled"
            )
        return self._state.partition
