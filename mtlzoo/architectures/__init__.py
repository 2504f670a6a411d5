"""How parameters are shared between tasks, one architecture per file.

Contract: an architecture is a function registered under its module's file
name (`@ARCHITECTURES.register("mtan")` in `mtan.py`)

    build(image, stages, tasks, input_shape, heads, **options)
        -> (outputs, shared, branch_points)

called by `MultiTaskModel.__init__` with `image` the preprocessed input
tensor, `stages` a `mtlzoo.backbones.BackboneStages`, `tasks` the list of
`Task`, `heads` a dict task -> head options (build heads with
`mtlzoo.heads.build_head(task, heads.get(task.name))(features, input_shape)`,
`features` a dict level -> tensor of the task's path). It returns the dict
task name -> output tensor, the list of shared tensors that task-specific
layers consume (for representation gradients; may be empty) and the
normalised branch points (`[]` outside hard sharing). Options must be
JSON-serialisable: they are stored in `get_config()["architecture_options"]`.
Regularisers (e.g. soft-sharing couplings) are added with a layer's
`add_loss`; the model adds them to the loss and logs `regularization_loss`.
"""

from mtlzoo.architectures import cgc  # noqa: F401
from mtlzoo.architectures import cross_stitch  # noqa: F401
from mtlzoo.architectures import hard_sharing  # noqa: F401
from mtlzoo.architectures import mmoe  # noqa: F401
from mtlzoo.architectures import mtan  # noqa: F401
from mtlzoo.architectures import pad_net  # noqa: F401
from mtlzoo.architectures import ple  # noqa: F401
from mtlzoo.architectures import soft_sharing  # noqa: F401
from mtlzoo.architectures import task_specific_norm  # noqa: F401
from mtlzoo.architectures._catalog import ARCHITECTURES
from mtlzoo.architectures._experts import ExpertGate
from mtlzoo.architectures._experts import Experts
from mtlzoo.architectures._experts import gated_experts


def list_architectures():
    """Names accepted by `mtlzoo.build(..., architecture=...)`."""
    return ARCHITECTURES.names()


def get(name):
    """The builder function of an architecture."""
    if not isinstance(name, str) or name not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture. Expected one of {list_architectures()}. "
            f"Received: architecture={name!r}"
        )
    return ARCHITECTURES.get(name)


__all__ = [
    "ExpertGate",
    "Experts",
    "gated_experts",
    "get",
    "list_architectures",
]
