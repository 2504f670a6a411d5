"""MultiTaskModel: one network, one output per task, balanced training."""

import keras
from keras import ops

from mtlzoo import architectures
from mtlzoo import backbones as backbones_lib
from mtlzoo import weighting as weighting_lib
from mtlzoo.architectures.hard_sharing import to_config
from mtlzoo.model.argument_checks import check_backbone_weights
from mtlzoo.model.argument_checks import check_compile_kwargs
from mtlzoo.model.argument_checks import check_head_optimizers
from mtlzoo.model.argument_checks import check_input_shape
from mtlzoo.model.argument_checks import check_loss_weights
from mtlzoo.model.argument_checks import check_weighting
from mtlzoo.model.argument_checks import model_input_shape
from mtlzoo.model.batch_norm import batch_norm_config
from mtlzoo.model.batch_norm import check_batch_norm
from mtlzoo.model.compile_config import CONFIG_KEYS
from mtlzoo.model.compile_config import CompileConfig
from mtlzoo.model.distribution import metric_results
from mtlzoo.model.freezing import apply_trainable
from mtlzoo.model.freezing import check_freeze_until
from mtlzoo.model.gradient_step import gradient_method_step
from mtlzoo.model.keras_entry_points import KerasEntryPointsMixin
from mtlzoo.model.labels import standardize_labels
from mtlzoo.model.multi_worker import step_logs
from mtlzoo.model.task_gradients import TaskGradientsMixin
from mtlzoo.model.task_objective import TaskObjective
from mtlzoo.model.train_step import StepParts
from mtlzoo.model.train_step import evaluation_losses
from mtlzoo.model.train_step import loss_method_step
from mtlzoo.model.trainability import TrainabilityMixin
from mtlzoo.model.training_state import TrainingState
from mtlzoo.model.training_state import replace_tracked
from mtlzoo.model.weight_reuse_step import weight_reuse_step
from mtlzoo.tasks import validate_tasks
from mtlzoo.weighting import _weight_reuse as weight_reuse


@keras.saving.register_keras_serializable(package="mtlzoo")
class MultiTaskModel(
    TrainabilityMixin,
    KerasEntryPointsMixin,
    TaskGradientsMixin,
    keras.Model,
):
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

    def outputs_dict(self):
        """Output tensors of the functional graph, by task name."""
        out = self._outputs_struct if hasattr(self, "_outputs_struct") else None
        if isinstance(out, dict):
            return out
        return dict(zip(self.output_names, self.outputs))

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
