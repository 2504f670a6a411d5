"""MultiTaskHyperModel: search where tasks branch and how big heads are."""

import keras
import keras_tuner as kt

from mtlzoo import backbones as backbones_lib
from mtlzoo import model as model_lib
from mtlzoo import weighting as weighting_lib
from mtlzoo.tasks import validate_tasks
from mtlzoo.tuning import _data
from mtlzoo.tuning import search_space
from mtlzoo.tuning.search_space import DEFAULT_DENSE_CONVS
from mtlzoo.tuning.search_space import DEFAULT_DENSE_WIDTHS
from mtlzoo.tuning.search_space import DEFAULT_HEAD_LAYERS
from mtlzoo.tuning.search_space import DEFAULT_HEAD_UNITS
from mtlzoo.tuning.search_space import PREFERRED
from mtlzoo.tuning.search_space import branch_groups
from mtlzoo.tuning.search_space import check_heads
from mtlzoo.tuning.search_space import check_list
from mtlzoo.tuning.search_space import choice
from mtlzoo.tuning.search_space import hp_name
from mtlzoo.tuning.trial_logger import TrialLogger


class MultiTaskHyperModel(kt.HyperModel):
    """A keras-tuner HyperModel over branch trees, heads and training.

    `build(hp)` picks, for every task (or every fixed task group), the
    feature level where it leaves the shared trunk, the size of every head
    and, when asked, the weighting method and learning rate, and returns a
    compiled `MultiTaskModel`. `fit(hp, model, ...)` may pick the batch
    size, adds `params` and `step_time` (seconds per training step) to the
    epoch logs, and returns the `History`, from which keras-tuner takes the
    best epoch by its objective (see `mtlzoo.tuning.objective`).

    The constructor fixes the problem and restricts the space; `hp.Fixed`
    values set before `build` (or through a tuner's `hyperparameters=`)
    override single choices. Hyperparameters:

    - `branch/<task>` (or `branch/<a>+<b>` for a group): a level among
      `levels`, deepest first. Default: the deepest level (every task
      shares the whole trunk, as `mtlzoo.build` does by default).
    - `head_units/<task>`, `head_layers/<task>` for classification,
      multilabel, regression and box heads: the width and number of hidden
      layers. Defaults: 128 units, 1 layer (the heads' own defaults).
    - `dense_width/<task>`, `dense_convs/<task>` for segmentation, depth and
      normals decoders. Defaults: width 64, 1 conv per step.
    - `weighting`, `learning_rate` (always present, fixed unless choices are
      given) and `batch_size` (only with `batch_sizes=`). Defaults:
      `"equal"`, 1e-3, 32.

    A default is the library default when the choices contain it, else the
    first choice.

    Args:
        backbone: str. A name from `mtlzoo.backbones.list_backbones()`.
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)`.
        levels: list of str. Branch levels to choose from, among `"P0"`
            and the backbone's levels. Defaults to the backbone's levels.
        head_units: list of int. Hidden widths of MLP heads. Defaults to
            `(32, 64, 128, 256)`.
        head_layers: list of int. Hidden layer counts of MLP heads (0 is a
            linear head). Defaults to `(1, 2)`.
        dense_widths: list of int. Decoder widths of dense heads. Defaults
            to `(16, 32, 64)`.
        dense_convs: list of int. Convs per decoder step. Defaults to
            `(1, 2)`.
        weightings: list of str. Weighting methods to choose from (names of
            `mtlzoo.weighting`). Defaults to `["equal"]`.
        learning_rates: list of float. Defaults to `[1e-3]`.
        batch_sizes: list of int. Batch sizes for `fit`. Defaults to None
            (the `batch_size` given to `search`, or the dataset's batches).
        groups: list of task-name lists, or a dict whose keys are groups
            (as `suggest_groups` returns). Each group branches as one unit
            (its tasks share everything up to their heads); tasks outside
            the groups branch alone. Defaults to None (every task alone).
        weights: backbone weights for every trial: None, `"imagenet"` or a
            path. Defaults to None.
        heads: dict. Task -> fixed head options; a fixed option is not
            searched.
        optimizer: str. Optimizer name; its learning rate comes from
            `learning_rate`. Defaults to `"adam"`.
        objective: `MultiTaskObjective`. When given, `fit` writes its value
            into the epoch logs, so the tuner may use a plain
            `keras_tuner.Objective(objective.name, "max")`.
        compile_options: dict. Extra `MultiTaskModel.compile` arguments.
        name: str. HyperModel name.

    Example:

    >>> tasks = [mtlzoo.Task("a", "classification", num_classes=3),
    ...          mtlzoo.Task("b", "regression")]
    >>> hypermodel = mtlzoo.tuning.MultiTaskHyperModel(
    ...     "tiny", tasks, input_shape=(32, 32, 1), levels=["P3", "P5"])
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> hypermodel.branch_points_of(model)
    {'a': 'P5', 'b': 'P5'}

    Reference:
    - [Vandenhende et al., 2020, Branched Multi-Task Networks](
      https://arxiv.org/abs/1904.02920)
    """

    def __init__(
        self,
        backbone,
        tasks,
        input_shape,
        levels=None,
        head_units=None,
        head_layers=None,
        dense_widths=None,
        dense_convs=None,
        weightings=None,
        learning_rates=None,
        batch_sizes=None,
        groups=None,
        weights=None,
        heads=None,
        optimizer="adam",
        objective=None,
        compile_options=None,
        name=None,
    ):
        super().__init__(name=name, tunable=True)
        self.backbone = backbone
        self.tasks = validate_tasks(tasks)
        self.task_names = [t.name for t in self.tasks]
        self.input_shape = tuple(int(d) for d in input_shape)
        spec = backbones_lib.get(backbone)
        allowed = ("P0",) + tuple(spec.levels)
        if levels is None:
            levels = spec.levels
        levels = check_list("levels", levels, str)
        bad = [lv for lv in levels if lv not in allowed]
        if bad:
            raise ValueError(
                f"Backbone '{backbone}' has the branch levels "
                f"{list(allowed)}. Received: levels={levels!r}"
            )
        # deepest first: the first choice is full sharing.
        self.levels = sorted(set(levels), key=allowed.index, reverse=True)
        self.head_units = check_list(
            "head_units", _given(head_units, DEFAULT_HEAD_UNITS), int, 1
        )
        self.head_layers = check_list(
            "head_layers", _given(head_layers, DEFAULT_HEAD_LAYERS), int, 0
        )
        self.dense_widths = check_list(
            "dense_widths", _given(dense_widths, DEFAULT_DENSE_WIDTHS), int, 1
        )
        self.dense_convs = check_list(
            "dense_convs", _given(dense_convs, DEFAULT_DENSE_CONVS), int, 1
        )
        self.weightings = check_list(
            "weightings", _given(weightings, ["equal"]), str
        )
        for method in self.weightings:
            weighting_lib.get(method)
        self.learning_rates = check_list(
            "learning_rates",
            _given(learning_rates, [1e-3]),
            float,
            positive=True,
        )
        self.batch_sizes = None
        if batch_sizes is not None:
            self.batch_sizes = check_list("batch_sizes", batch_sizes, int, 1)
        self.branch_groups = branch_groups(groups, self.task_names)
        self.weights = weights
        self.heads = check_heads(heads, self.task_names)
        if not isinstance(optimizer, str):
            raise ValueError(
                "`optimizer` must be an optimizer name (a fresh one is made "
                f"for every trial). Received: optimizer={optimizer!r}"
            )
        self.optimizer = optimizer
        if objective is not None and hasattr(objective, "scales"):
            primary = {t.primary_metric for t in self.tasks}
            unknown = sorted(set(objective.scales) - primary)
            if unknown:
                raise ValueError(
                    f"The objective scores {unknown}, which are not primary "
                    f"metrics of the tasks ({sorted(primary)}). "
                    f"Received: objective={objective}"
                )
        self.objective = objective
        self.compile_options = dict(compile_options or {})

    # ------------------------------------------------------------------
    def branch_points(self, hp):
        """The branch tree chosen by `hp`, as a `branch_points` dict."""
        tree = {}
        for unit in self.branch_groups:
            level = choice(hp, hp_name("branch", unit), self.levels)
            tree[unit[0] if len(unit) == 1 else unit] = level
        return tree

    def head_options(self, hp):
        """Head options chosen by `hp`: task -> dict.

        Each task's kind names its head hyperparameters
        (`Task.head_search_space`, see `search_space.head_options`).
        """
        choices = {
            "head_units": self.head_units,
            "head_layers": self.head_layers,
            "dense_width": self.dense_widths,
            "dense_convs": self.dense_convs,
        }
        return {
            t.name: search_space.head_options(
                hp, t, self.heads.get(t.name, {}), choices
            )
            for t in self.tasks
        }

    def training_options(self, hp):
        """Weighting, learning rate (and batch size) chosen by `hp`."""
        out = {
            "weighting": choice(
                hp, "weighting", self.weightings, PREFERRED["weighting"]
            ),
            "learning_rate": choice(
                hp,
                "learning_rate",
                self.learning_rates,
                PREFERRED["learning_rate"],
            ),
        }
        if self.batch_sizes:
            out["batch_size"] = choice(
                hp, "batch_size", self.batch_sizes, PREFERRED["batch_size"]
            )
        return out

    def build_model(self, hp, weights=None):
        """The uncompiled model of `hp` (backbone `weights` as given)."""
        return model_lib.build(
            self.backbone,
            self.tasks,
            self.input_shape,
            backbone_weights=weights,
            branch_points=self.branch_points(hp),
            heads=self.head_options(hp),
        )

    def build(self, hp):
        model = self.build_model(hp, weights=self.weights)
        training = self.training_options(hp)
        optimizer = keras.optimizers.get(
            {
                "class_name": self.optimizer,
                "config": {"learning_rate": training["learning_rate"]},
            }
        )
        model.compile(
            optimizer=optimizer,
            weighting=training["weighting"],
            **self.compile_options,
        )
        return model

    def fit(
        self,
        hp,
        model,
        x=None,
        y=None,
        batch_size=None,
        validation_data=None,
        callbacks=None,
        **kwargs,
    ):
        """Train one trial; returns the `History` (with cost keys).

        Datasets are (re)batched to the chosen `batch_size` when
        `batch_sizes` were given, and batched with `batch_size` (default
        32) when they come unbatched.
        """
        chosen = self.training_options(hp).get("batch_size")
        size = chosen or batch_size or PREFERRED["batch_size"]

        def prepare(data):
            if not _data.is_dataset(data):
                return data
            if chosen:
                return _data.batch(data, size)
            return _data.ensure_batched(data, size)

        x = prepare(x)
        if isinstance(validation_data, (tuple, list)):
            validation_data = tuple(validation_data)
        else:
            validation_data = prepare(validation_data)
        if not _data.is_dataset(x):
            kwargs["batch_size"] = size
        callbacks = [TrialLogger(self.objective)] + list(callbacks or [])
        return model.fit(
            x,
            y,
            validation_data=validation_data,
            callbacks=callbacks,
            **kwargs,
        )

    # ------------------------------------------------------------------
    def branch_points_of(self, model):
        """The branch tree of a built model as a `branch_points` dict."""
        out = {}
        for entry in model.get_config()["branch_points"]:
            group = tuple(entry["tasks"])
            out[group[0] if len(group) == 1 else group] = entry["level"]
        return out


def _given(values, default):
    """`default` when `values` is None; an empty list stays (and is
    refused by `check_list`)."""
    return default if values is None else values
