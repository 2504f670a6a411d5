"""Architecture search and task grouping for multi-task models.

- `MultiTaskHyperModel`: a keras-tuner HyperModel over branch points,
  head sizes, weighting methods and learning rates.
- `objective`: search objectives that put tasks on one scale (delta_m
  against single-task baselines, a scale-normalised weighted sum) with an
  optional cost penalty; `measure_baselines` trains the baselines once.
- `task_affinity`, `suggest_groups`: which tasks help each other (TAG
  lookahead affinity) and how to group them (`mtlzoo.app.plots.plot_affinity`
  draws the matrix).
- `best_branch_points`, `best_config`, `run_search`: results of a search,
  and a whole search from a JSON config (the `mtlzoo search` command).
"""

from mtlzoo.tuning.baselines import load_baselines
from mtlzoo.tuning.baselines import measure_baselines
from mtlzoo.tuning.grouping import group_score
from mtlzoo.tuning.grouping import suggest_groups
from mtlzoo.tuning.multi_task_hyper_model import MultiTaskHyperModel
from mtlzoo.tuning.objectives import MultiTaskObjective
from mtlzoo.tuning.objectives import objective
from mtlzoo.tuning.results import best_branch_points
from mtlzoo.tuning.results import best_config
from mtlzoo.tuning.search import load_data
from mtlzoo.tuning.search import run_search
from mtlzoo.tuning.search_space import hp_name
from mtlzoo.tuning.task_affinity import task_affinity
from mtlzoo.tuning.trial_logger import TrialLogger

__all__ = [
    "MultiTaskHyperModel",
    "MultiTaskObjective",
    "TrialLogger",
    "best_branch_points",
    "best_config",
    "group_score",
    "hp_name",
    "load_baselines",
    "load_data",
    "measure_baselines",
    "objective",
    "run_search",
    "suggest_groups",
    "task_affinity",
]
