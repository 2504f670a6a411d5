"""MultiTaskModel: one network, one output per task, balanced training."""

import keras
import tensorflow as tf
from keras import ops

from mtlzoo import architectures
from mtlzoo import backbones as backbones_lib
from mtlzoo import weighting as weighting_lib
from mtlzoo.architectures.hard_sharing import to_config
from mtlzoo.model.argument_checks import check_backbone_weights
from mtlzoo.model.argument_checks import check_compile_kwargs
from mtlzoo.model.argument_checks import check_head_optimizers
from mtlzoo.model.argument_checks import check_images
from mtlzoo.model.argument_checks import check_input_shape
from mtlzoo.model.argument_checks import check_loss_weights
from mtlzoo.model.argument_checks import check_weighting
from mtlzoo.model.argument_checks import model_input_shape
from mtlzoo.model.batch_norm import RecalibrateBatchNorm
from mtlzoo.model.batch_norm import batch_norm_config
from mtlzoo.model.batch_norm import batch_norm_layers
from mtlzoo.model.batch_norm import check_batch_norm
from mtlzoo.model.batch_norm import exempt
from mtlzoo.model.batch_norm import fit_batches
from mtlzoo.model.compile_config import CONFIG_KEYS
from mtlzoo.model.compile_config import CompileConfig
from mtlzoo.model.distribution import metric_results
from mtlzoo.model.freezing import apply_trainable
from mtlzoo.model.freezing import check_compiled_trainables
from mtlzoo.model.freezing import check_freeze_until
from mtlzoo.model.freezing import tree_lines
from mtlzoo.model.gradient_step import gradient_method_step
from mtlzoo.model.gradient_step import task_gradient_matrix
from mtlzoo.model.labels import complete_sample_weight
from mtlzoo.model.labels import standardize_labels
from mtlzoo.model.multi_worker import needs_symbolic_build
from mtlzoo.model.multi_worker import step_logs
from mtlzoo.model.step_errors import checked_function
from mtlzoo.model.task_objective import TaskObjective
from mtlzoo.model.train_step import StepParts
from mtlzoo.model.train_step import evaluation_losses
from mtlzoo.model.train_step import loss_method_step
from mtlzoo.model.train_step import prediction
from mtlzoo.model.training_state import TrainingState
from mtlzoo.model.training_state import replace_tracked
from mtlzoo.model.variable_partition import VariablePartition
from mtlzoo.model.weight_reuse_step import weight_reuse_step
from mtlzoo.model.weighting_callbacks import with_weighting_callbacks
from mtlzoo.model.weights_file import check_weights_file
from mtlzoo.tasks import validate_tasks
from mtlzoo.weighting import _weight_reuse as weight_reuse


@keras.saving.register_keras_serializable(package="mtlzoo")
class MultiTaskModel(keras.Model):
    """A multi-output Keras functional model with per-task training logic.

    Outputs are a dict keyed by task name. Each task has a non-trainable
    weight variable (`model.task_weights[name]`) that multiplies its loss
    inside the train step, so a callback that assigns it changes training
    from the next step. Logs carry `<task>_loss` (unweighted),
    `<task>_weight` and the task metrics (`<task>_accuracy`, ...).
    Missing labels (`-1` / `NaN`, or a zero sample weight) are skipped.

    Args:
        backbone: str or `keras.Model`. A name from
            `mtlzoo.backbones.list_backbones()`, or your own functional
            `keras.Model` (see `mtlzoo.backbones.ModelBackbone`: levels
            from its strides, its current weights, no preprocessing unless
            `preprocessing=` is given; `get_config()` stores its Keras
            config).
        tasks: list of `mtlzoo.Task` (or their configs).
        input_shape: tuple `(height, width, channels)`. Images are fed as
            raw pixel values in 0..255; preprocessing is part of the model.
            Defaults to None: the input size of a backbone `keras.Model`
            built for one size (otherwise a `ValueError`).
        backbone_weights: None, `"imagenet"` or a path to backbone
            weights: how the backbone is initialised. Only used when
            building; not part of the config (a loaded model gets its saved
            weights). Defaults to None. (`weights=` is its deprecated old
            name; task weights are `Task(weight=)` / `compile(loss_weights=)`,
            a preset's trained weights `from_preset(load_weights=)`.)
        architecture: str. How parameters are shared, a name from
            `mtlzoo.architectures.list_architectures()`. Defaults to
            `"hard_sharing"`.
        branch_points: dict. For hard sharing: task or tuple of tasks ->
            level (`"P0"`..`"P5"`) where it leaves the shared trunk; the
            branch owns copies of the later stages, initialised with the
            same weights. Defaults to every task at the deepest level.
        heads: dict. Task name -> head options (see `mtlzoo.heads`).
        preprocessing: str. Input preprocessing mode; defaults to the
            backbone's (see `mtlzoo.backbones`).
        architecture_options: dict. Extra options of the architecture.
        name: str. Model name.
        batch_norm: str. `"train"`: BatchNormalization layers use batch
            statistics in `fit` and update their moving statistics (for
            training from scratch; after a short training, call
            `mtlzoo.recalibrate_batch_norm`). `"frozen"`: they get
            `trainable=False` and so run in inference mode in `fit` too,
            with fixed statistics and scale, as the Keras
            transfer-learning guide does: `fit` and `evaluate` then compute
            the same function, whatever the data; fine-tune with a low
            learning rate (about 1e-4; deep backbones do not learn at 1e-3
            without batch statistics). Layers `from_preset` initialises
            fresh (a new head) keep training. `"recalibrate"`: as
            `"train"`, and `fit` re-estimates the moving statistics on
            training batches before each validation and at its end, so
            `evaluate` agrees with `fit`; `from_preset` and
            `mtlzoo.load` use it. See `set_batch_norm` and
            `mtlzoo.model.batch_norm`. Defaults to `"train"`.
        freeze_until: str. Freeze the backbone stages up to this level
            (`"P1"`..`"P5"`, trunk and branch copies) or `"backbone"`
            (every stage); see `freeze`. Defaults to None.

    Example:

    >>> tasks = [mtlzoo.Task("digit", "classification", num_classes=10),
    ...          mtlzoo.Task("ink", "regression")]
    >>> model = mtlzoo.MultiTaskModel("tiny", tasks, input_shape=(32, 32, 1))
    >>> model.compile(optimizer="adam")
    """

    def __init__(
        self,
        backbone,
        tasks,
        input_shape=None,
        backbone_weights=None,
        architecture="hard_sharing",
        branch_points=None,
        heads=None,
        preprocessing=None,
        architecture_options=None,
        name="multi_task_model",
        batch_norm="train",
        freeze_until=None,
        weights=None,
        **kwargs,
    ):
        backbone_weights = check_backbone_weights(backbone_weights, weights)
        tasks = validate_tasks(tasks)
        bn_policy, bn_train_layers = check_batch_norm(batch_norm)
        if input_shape is None:
            input_shape = model_input_shape(backbone)
        input_shape = check_input_shape(input_shape)
        names = [t.name for t in tasks]
        heads = dict(heads or {})
        unknown = sorted(set(heads) - set(names))
        if unknown:
            raise ValueError(
                f"`heads` names unknown task(s) {unknown}; the tasks are "
                f"{names}. Received: heads={heads!r}"
            )
        architecture_options = dict(architecture_options or {})
        build_fn = architectures.get(architecture)
        spec = backbones_lib.resolve(backbone)
        stages = spec.build(
            input_shape, weights=backbone_weights, preprocessing=preprocessing
        )
        image = keras.Input(shape=input_shape, name="image")
        x = stages.preprocess(image)
        options = dict(architecture_options)
        if architecture == "hard_sharing":
            options["branch_points"] = branch_points
        elif branch_points:
            raise ValueError(
                "`branch_points` apply to architecture='hard_sharing' only. "
                f"Received: architecture={architecture!r}, "
                f"branch_points={branch_points!r}"
            )
        outputs, shared, tree = build_fn(
            x, stages, tasks, input_shape, heads, **options
        )
        super().__init__(inputs=image, outputs=outputs, name=name, **kwargs)
        # A name as given; a user's model as its Keras config.
        self.backbone = (
            backbone if isinstance(backbone, str) else spec.get_config()
        )
        self.tasks = tasks
        self.task_names = names
        self.input_shape_ = input_shape
        self.architecture = architecture
        self.branch_points = tree
        self.heads_config = heads
        self.preprocessing = stages.preprocessing
        self.architecture_options = architecture_options
        self.levels = stages.levels
        self.shared_tensors = list(shared)
        self.task_weights = {}
        for task in tasks:
            self.task_weights[task.name] = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(task.weight),
                trainable=False,
                name=f"{task.name}_weight",
            )
        self._task_loss_trackers = {
            n: keras.metrics.Mean(name=f"{n}_loss") for n in names
        }
        self._task_metrics = {t.name: t.build_metrics() for t in tasks}
        self._regularization_tracker = keras.metrics.Mean(
            name="regularization_loss"
        )
        self.weighting = None
        self.check_finite = True
        # Keras may reorder `trainable_variables` once sub-models are made
        # from this graph; gradients and optimizer slots use this order.
        self._state = TrainingState(self, list(self.weights))
        # Keras does not restore the trainable flags of a model rebuilt by
        # `from_config`: they follow from these two arguments.
        self.batch_norm_policy = bn_policy
        self.batch_norm_train_layers = tuple(bn_train_layers)
        self.freeze_until = check_freeze_until(freeze_until, self.levels)
        apply_trainable(self)

    # ------------------------------------------------------------------
    def get_config(self):
        return {
            "backbone": self.backbone,
            "tasks": [t.get_config() for t in self.tasks],
            "input_shape": list(self.input_shape_),
            "architecture": self.architecture,
            "branch_points": to_config(self.branch_points),
            "heads": self.heads_config,
            "preprocessing": self.preprocessing,
            "architecture_options": self.architecture_options,
            "name": self.name,
            "trainable": self.trainable,
            **self._fine_tuning_config(),
        }

    def _fine_tuning_config(self):
        """`batch_norm` and `freeze_until`, only when not the defaults (the
        presets' architecture blocks, written before, have neither)."""
        out = {}
        if self.batch_norm_policy != "train":
            out["batch_norm"] = batch_norm_config(
                self.batch_norm_policy, self.batch_norm_train_layers
            )
        if self.freeze_until is not None:
            out["freeze_until"] = self.freeze_until
        return out

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("weights", None)
        config.pop("backbone_weights", None)
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, load_weights=True, compile=True, **overrides):
        """Build a model from a preset name or folder, with its trained
        weights (sha256-checked), ready to fine-tune (`batch_norm=`,
        default `"recalibrate"`); see `mtlzoo.presets.saving.from_preset`.
        """
        from mtlzoo.presets import saving as presets

        return presets.from_preset(
            preset,
            load_weights=load_weights,
            compile=compile,
            model_class=cls,
            **overrides,
        )

    def save_to_preset(self, preset_dir, description=None, overwrite=False):
        """Write `config.json` + `model.weights.h5` that `from_preset`
        loads; see `mtlzoo.zoo.save_to_preset`."""
        from mtlzoo.presets import saving as presets

        return presets.save_to_preset(
            self, preset_dir, description=description, overwrite=overwrite
        )

    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    def compile(
        self,
        optimizer="adam",
        weighting=None,
        loss_weights=None,
        head_optimizers=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile=False,
        check_finite=True,
        **kwargs,
    ):
        """Configure training.

        Args:
            optimizer: optimizer or its name, for the shared parameters (and
                for every head without its own optimizer).
            weighting: str, dict or `mtlzoo.weighting.Weighting`. How task
                losses (or gradients) combine. Defaults to equal weighting.
            loss_weights: dict task -> float. Initial task weights (the
                weight variables keep changing if a method or callback
                assigns them).
            head_optimizers: dict task -> optimizer. Separate optimizers for
                parameters that only serve that task.
            jit_compile: bool. XLA compilation; off by default (about 10x
                slower training on CPU here).
            check_finite: bool. Stop training with an error naming the task
                when a task loss (or, for gradient methods, a task
                gradient) is NaN or inf, instead of silently poisoning the
                weights. A failed step (this check, a label rule or a
                non-finite input) leaves the model bit-identical: nothing it
                may write (weights, BatchNorm statistics, task weights,
                optimizer slots, weighting state) is changed. Defaults to
                True.
        """
        # Check and resolve every argument first: a failed compile leaves
        # the model as it was (task weights, optimizer, weighting).
        check_compile_kwargs(kwargs)
        if loss_weights is not None:
            check_loss_weights(loss_weights, self.task_names)
        head_optimizers = dict(head_optimizers or {})
        check_head_optimizers(head_optimizers, self.task_names)
        optimizer = keras.optimizers.get(optimizer)
        head_optimizers = {
            k: keras.optimizers.get(v) for k, v in head_optimizers.items()
        }
        method = weighting_lib.get(weighting)
        check_weighting(method, self.shared_tensors, self.architecture)
        weighting_lib.setup_method(
            method,
            self.task_names,
            [self.task_weights[n] for n in self.task_names],
            tasks=self.tasks,
        )
        super().compile(
            optimizer=optimizer,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )
        for name, value in (loss_weights or {}).items():
            self.task_weights[name].assign(float(value))
        replace_tracked(self, "weighting", method)
        self.check_finite = bool(check_finite)
        self.head_optimizers = head_optimizers
        self._state.partition = self._partition()
        self._state.compile_arguments = dict(
            optimizer=self.optimizer,
            weighting=method,
            loss_weights=loss_weights,
            head_optimizers=self.head_optimizers or None,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            check_finite=self.check_finite,
        )

    def get_compile_config(self):
        """The `compile()` arguments, serialized (saved in `.keras` files).

        A dict of the serialized arguments that is also the serialized
        `CompileConfig` (its `class_name`, `config`, ...): Keras'
        `clone_model` compiles its plain functional copy from it with the
        arguments `keras.Model.compile` knows (see `CompileConfig`).
        """
        arguments = self._state.compile_arguments
        if not self.compiled or arguments is None:
            return {}
        out = keras.saving.serialize_keras_object(arguments)
        out.update(
            keras.saving.serialize_keras_object(CompileConfig(arguments))
        )
        return out

    def compile_from_config(self, config):
        """Compile from `get_compile_config()` and build the optimizers (so
        a loaded model gets its saved optimizer state)."""
        config = {k: v for k, v in config.items() if k not in CONFIG_KEYS}
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        self._state.build_optimizers(self)

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`, plus the weighting method's callbacks.

        A weighting method that adapts per epoch (e.g. DWA) returns Keras
        callbacks from `callbacks()`; they are appended to the callbacks
        given, unless the same instance is already there. Arguments are
        those of `keras.Model.fit`. With `batch_norm="recalibrate"`, the
        BatchNorm moving statistics are re-estimated on training batches
        before each validation and at the end
        (`mtlzoo.model.batch_norm.RecalibrateBatchNorm`).
        """
        check_compiled_trainables(self)
        check_images(self, args[0] if args else kwargs.get("x"), "fit")
        # Before any callback (BackupAndRestore) loads optimizer slots.
        self._state.build_optimizers(self)
        extra = []
        if self.batch_norm_policy == "recalibrate":
            extra = [RecalibrateBatchNorm(*fit_batches(args, kwargs))]
        if len(args) > 5:  # `callbacks` passed by position
            args = list(args)
            args[5] = with_weighting_callbacks(args[5], self.weighting, self)
            args[5] = _added(args[5], extra, self)
        else:
            kwargs["callbacks"] = _added(
                with_weighting_callbacks(
                    kwargs.get("callbacks"), self.weighting, self
                ),
                extra,
                self,
            )
        args = _complete_sample_weight(self, args, kwargs, 10)
        return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`; a `sample_weight` dict may name only some
        tasks (the others weigh 1). Images with NaN or inf, invalid labels
        or sample weights raise a `ValueError` naming the culprit."""
        check_images(self, args[0] if args else kwargs.get("x"), "evaluate")
        args = _complete_sample_weight(self, args, kwargs, 4)
        return super().evaluate(*args, **kwargs)

    def predict(self, x, *args, check_finite=True, **kwargs):
        """`keras.Model.predict`, refusing images with NaN or inf.

        Args:
            x: images, as for `keras.Model.predict`.
            check_finite: bool. Raise a `ValueError` naming the first
                sample with a NaN or inf pixel; pass False to get the
                model's (non-finite) outputs instead. Defaults to True.
            *args, **kwargs: the other arguments of `keras.Model.predict`.
        """
        check_images(self, x, "predict")
        check_finite = bool(check_finite)
        if getattr(self._state, "predict_checks", True) != check_finite:
            self._state.predict_checks = check_finite
            self.predict_function = None
        return super().predict(x, *args, **kwargs)

    def predict_step(self, data):
        """Outputs for a batch, the images checked (see `predict`)."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        checks = getattr(self._state, "predict_checks", True)
        return prediction(self, x, check_inputs=checks)

    def load_weights(self, filepath, *args, **kwargs):
        """`keras.Model.load_weights`, refusing a file saved by a model with
        other tasks (see `mtlzoo.model.weights_file`)."""
        check_weights_file(self, filepath)
        return super().load_weights(filepath, *args, **kwargs)

    def _maybe_symbolic_build(self, *args, **kwargs):
        # Keras' build before fit/evaluate fails with several workers
        # (keras-team/keras#20585); see `mtlzoo.model.multi_worker`.
        if needs_symbolic_build(self):
            super()._maybe_symbolic_build(*args, **kwargs)

    # The functions Keras runs raise the checks' errors as ValueErrors.
    def make_train_function(self, force=False):
        super().make_train_function(force)
        self.train_function = checked_function(self, self.train_function)
        return self.train_function

    def make_test_function(self, force=False):
        super().make_test_function(force)
        self.test_function = checked_function(self, self.test_function)
        return self.test_function

    def make_predict_function(self, force=False):
        super().make_predict_function(force)
        self.predict_function = checked_function(self, self.predict_function)
        return self.predict_function

    def outputs_dict(self):
        """Output tensors of the functional graph, by task name."""
        out = self._outputs_struct if hasattr(self, "_outputs_struct") else None
        if isinstance(out, dict):
            return out
        return dict(zip(self.output_names, self.outputs))

    @property
    def metrics(self):
        out = []
        if self.compiled and self._loss_tracker is not None:
            out.append(self._loss_tracker)
        out.extend(self._task_loss_trackers.values())
        if self.losses:
            out.append(self._regularization_tracker)
        for name in self.task_names:
            out.extend(self._task_metrics[name])
        return out

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

    # ------------------------------------------------------------------
    def train_step(self, data):
        """One training step: the loss-level or the gradient-method step
        (see `mtlzoo.model.train_step`), then the per-task logs."""
        x, y, sample_weights = self._unpack(data)
        parts = self._step_parts()
        if parts.uses_gradient_method():
            step = gradient_method_step
            if weight_reuse.reuses(parts.weighting):
                step = weight_reuse_step
        else:
            step = loss_method_step
        y_pred, losses, total = step(parts, x, y, sample_weights)
        y, sample_weights = parts.batch  # as checked by the step
        self._loss_tracker.update_state(total)
        logs = self._update_logs(y, y_pred, sample_weights, losses)
        for n in self.task_names:
            logs[f"{n}_weight"] = ops.convert_to_tensor(self.task_weights[n])
        logs.update(self.weighting.applied_weight_logs())
        return step_logs(logs)

    def test_step(self, data):
        """One evaluation step: task losses, their weighted sum, logs."""
        x, y, sample_weights = self._unpack(data)
        parts = self._step_parts()
        y_pred, losses, total = evaluation_losses(parts, x, y, sample_weights)
        y, sample_weights = parts.batch  # as checked by the step
        self._loss_tracker.update_state(total)
        return step_logs(self._update_logs(y, y_pred, sample_weights, losses))

    def task_gradients(self, x, y, sample_weight=None, representation=False):
        """Per-task gradients of the unweighted task losses, shared part.

        Used for gradient-conflict logging and task-affinity analysis. Runs
        the model in inference mode (no dropout, frozen BatchNorm stats).

        Args:
            x: batch of images.
            y: dict task name -> labels for the batch.
            sample_weight: optional dict task name -> `(batch,)` weights.
            representation: bool. Gradients with respect to the shared
                features instead of the parameters shared by all tasks.

        Returns:
            `(grads, losses, present)`: a `(T, D)` tensor (rows in
            `task_names` order), the `(T,)` losses and the `(T,)` mask of
            tasks with labels in the batch.
        """
        x = ops.convert_to_tensor(x)
        y = tf.nest.map_structure(ops.convert_to_tensor, y)
        y, sw = standardize_labels(
            self.tasks, self.input_shape_, y, sample_weight
        )
        sw = {k: ops.convert_to_tensor(v, "float32") for k, v in sw.items()}
        if self._state.partition is None:
            self._state.partition = self._partition()
        key = bool(representation)
        cache = self._state.task_gradient_fns
        if key not in cache:
            cache[key] = tf.function(
                lambda x, y, sw: task_gradient_matrix(
                    self._step_parts(), x, y, sw, key
                ),
                reduce_retracing=True,
            )
        return cache[key](x, y, sw)

    # ------------------------------------------------------------------
    def _unpack(self, data):
        """`(x, y, sample_weights)` of a batch, labels checked."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y, sample_weights = standardize_labels(
            self.tasks, self.input_shape_, y, sample_weight
        )
        return x, y, sample_weights

    def _step_parts(self):
        """The explicit objects the train, test and gradient steps use."""
        objective = TaskObjective(
            self.tasks,
            [self.task_weights[n] for n in self.task_names],
            self.check_finite,
        )
        return StepParts(
            forward=self._state.forward,
            objective=objective,
            partition=self._state.partition,
            weighting=self.weighting,
            optimizer=getattr(self, "optimizer", None),
            head_optimizers=getattr(self, "head_optimizers", {}),
        )

    def _update_logs(self, y, y_pred, sample_weights, losses):
        for i, task in enumerate(self.tasks):
            n = task.name
            self._task_loss_trackers[n].update_state(losses[i])
            task.update_metrics(
                self._task_metrics[n], y[n], y_pred[n], sample_weights.get(n)
            )
        if self.losses:
            regularization = self._state.forward.regularization()
            self._regularization_tracker.update_state(regularization)
        return metric_results(self.metrics)


def _complete_sample_weight(model, args, kwargs, index):
    """`args` with `sample_weight` (keyword, completed in `kwargs`, or at
    `args[index]`) completed (see
    `mtlzoo.model.labels.complete_sample_weight`)."""
    if "sample_weight" in kwargs:
        kwargs["sample_weight"] = complete_sample_weight(
            model.task_names, kwargs["sample_weight"]
        )
    elif len(args) > index:
        args = list(args)
        args[index] = complete_sample_weight(model.task_names, args[index])
    return args


def _added(callbacks, extra, model):
    """`callbacks` (a list, None or a `CallbackList`) plus `extra`."""
    if not extra:
        return callbacks
    if isinstance(callbacks, keras.callbacks.CallbackList):
        for callback in extra:
            callback.set_model(model)
            callbacks.callbacks.append(callback)
        return callbacks
    return list(callbacks or []) + list(extra)
