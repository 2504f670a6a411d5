"""MultiTaskModel: one network, one output per task, balanced training."""

import keras
from keras.src.saving import serialization_lib

from mtlzoo import architectures
from mtlzoo import backbones as backbones_lib
from mtlzoo import weighting as weighting_lib
from mtlzoo.architectures.hard_sharing import to_config
from mtlzoo.tasks import validate_tasks
from mtlzoo.training import TrainingMixin


@keras.saving.register_keras_serializable(package="mtlzoo")
class MultiTaskModel(TrainingMixin, keras.Model):
    """A multi-output Keras functional model with per-task training logic.

    Outputs are a dict keyed by task name. Each task has a non-trainable
    weight variable (`model.task_weights[name]`) that multiplies its loss
    inside the train step, so a callback that assigns it changes training
    from the next step. Logs carry `<task>_loss` (unweighted),
    `<task>_weight` and the task metrics (`<task>_accuracy`, ...).
    Missing labels (`-1` / `NaN`, or a zero sample weight) are skipped.

    Args:
        backbone: str. A name from `mtlzoo.backbones.list_backbones()`.
        tasks: list of `mtlzoo.Task` (or their configs).
        input_shape: tuple `(height, width, channels)`. Images are fed as
            raw pixel values in 0..255; preprocessing is part of the model.
        weights: None, `"imagenet"` or a path to backbone weights. Only
            used when building; not part of the config (a loaded model gets
            its saved weights). Defaults to None.
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
        input_shape,
        weights=None,
        architecture="hard_sharing",
        branch_points=None,
        heads=None,
        preprocessing=None,
        architecture_options=None,
        name="multi_task_model",
        **kwargs,
    ):
        tasks = validate_tasks(tasks)
        input_shape = _check_input_shape(input_shape)
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
        spec = backbones_lib.get(backbone)
        stages = spec.build(
            input_shape, weights=weights, preprocessing=preprocessing
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
        self.backbone = backbone
        self.tasks = tasks
        self.task_names = names
        self.input_shape_ = input_shape
        self.architecture = architecture
        self.branch_points = tree
        self.heads_config = heads
        self.preprocessing = stages.preprocessing
        self.architecture_options = architecture_options
        self.levels = stages.levels
        self._shared_tensors = list(shared)
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
        # Keras may reorder `trainable_variables` once sub-models are made
        # from this graph; gradients and optimizer slots use this order.
        object.__setattr__(self, "_canonical", list(self.weights))
        object.__setattr__(self, "_with_shared", None)

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
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("weights", None)
        return cls(**config)

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
                weights. Defaults to True.
        """
        for key in ("loss", "metrics", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"MultiTaskModel takes its losses and metrics from its "
                    f"tasks; `{key}` cannot be passed to compile(). "
                    f"Received: {key}={kwargs[key]!r}"
                )
            kwargs.pop(key, None)
        if kwargs:
            raise ValueError(
                f"Unknown compile() argument(s) {sorted(kwargs)}. "
                f"Received: kwargs={kwargs!r}"
            )
        if loss_weights is not None:
            if not isinstance(loss_weights, dict):
                raise ValueError(
                    "`loss_weights` must be a dict task name -> float. "
                    f"Received: loss_weights={loss_weights!r}"
                )
            unknown = sorted(set(loss_weights) - set(self.task_names))
            if unknown:
                raise ValueError(
                    f"`loss_weights` names unknown task(s) {unknown}; the "
                    f"tasks are {self.task_names}. "
                    f"Received: loss_weights={loss_weights!r}"
                )
            for name, value in loss_weights.items():
                if not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(
                        f"Loss weight of task '{name}' must be a non-negative "
                        f"number. Received: loss_weights[{name!r}]={value!r}"
                    )
                self.task_weights[name].assign(float(value))
        head_optimizers = dict(head_optimizers or {})
        unknown = sorted(set(head_optimizers) - set(self.task_names))
        if unknown:
            raise ValueError(
                f"`head_optimizers` names unknown task(s) {unknown}; the "
                f"tasks are {self.task_names}. "
                f"Received: head_optimizers={head_optimizers!r}"
            )
        super().compile(
            optimizer=optimizer,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )
        method = weighting_lib.get(weighting)
        if (
            method.requires_gradients
            and method.representation_gradients
            and not self._shared_tensors
        ):
            raise ValueError(
                f"{type(method).__name__} with representation_gradients=True "
                "needs features shared by the tasks, but architecture "
                f"'{self.architecture}' with these branch points shares none. "
                f"Received: weighting={method!r}"
            )
        method.setup(
            self.task_names, [self.task_weights[n] for n in self.task_names]
        )
        self.weighting = method
        self.check_finite = bool(check_finite)
        self.head_optimizers = {
            k: keras.optimizers.get(v) for k, v in head_optimizers.items()
        }
        self._partition_variables()
        self._compile_config = serialization_lib.SerializableDict(
            optimizer=self.optimizer,
            weighting=method,
            loss_weights=loss_weights,
            head_optimizers=self.head_optimizers or None,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            check_finite=self.check_finite,
        )

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self._main_variables)
            for name, opt in self.head_optimizers.items():
                opt.build(self._head_variables[name])

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

    # ------------------------------------------------------------------
    def _standardize_labels(self, y, sample_weight):
        """Labels and sample weights as dicts keyed by task; validated."""
        names = self.task_names
        if y is None:
            raise ValueError(
                "Training needs labels: a dict task name -> labels. "
                "Received: y=None"
            )
        if not isinstance(y, dict):
            if len(names) == 1 and not isinstance(y, (list, tuple)):
                y = {names[0]: y}
            elif isinstance(y, (list, tuple)) and len(y) == len(names):
                y = dict(zip(names, y))
            else:
                raise ValueError(
                    f"Labels must be a dict with one entry per task {names}. "
                    f"Received: y of type {type(y).__name__}"
                )
        missing = [n for n in names if n not in y]
        extra = sorted(set(y) - set(names))
        if missing or extra:
            raise ValueError(
                f"The labels must have one key per task. Missing labels for "
                f"task(s) {missing}; unknown key(s) {extra}. "
                f"Received: label keys={sorted(y)}"
            )
        for task in self.tasks:
            label = y[task.name]
            task.validate_label_spec(
                tuple(label.shape), label.dtype, self.input_shape_
            )
        if sample_weight is None:
            sw = {}
        elif isinstance(sample_weight, dict):
            extra = sorted(set(sample_weight) - set(names))
            if extra:
                raise ValueError(
                    f"Sample weights name unknown task(s) {extra}; the "
                    f"tasks are {names}. "
                    f"Received: sample_weight keys={sorted(sample_weight)}"
                )
            sw = dict(sample_weight)
        elif len(names) == 1:
            sw = {names[0]: sample_weight}
        else:
            raise ValueError(
                "With several tasks, sample weights must be a dict task "
                "name -> (batch,) weights. Received: sample_weight of type "
                f"{type(sample_weight).__name__}"
            )
        return y, sw


def _check_input_shape(input_shape):
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "`input_shape` must be (height, width, channels) with positive "
            f"integers. Received: input_shape={input_shape!r}"
        )
    return shape
