"""How parameters are shared between tasks, one architecture per file.

Contract: an architecture is a function registered in `_REGISTRY`

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

from mtlzoo.architectures import cross_stitch
from mtlzoo.architectures import hard_sharing
from mtlzoo.architectures import mmoe
from mtlzoo.architectures import mtan
from mtlzoo.architectures import pad_net
from mtlzoo.architectures import soft_sharing
from mtlzoo.architectures import task_norm

_REGISTRY = {
    "hard_sharing": hard_sharing.build,
    "soft_sharing": soft_sharing.build,
    "cross_stitch": cross_stitch.build,
    "mtan": mtan.build,
    "mmoe": mmoe.build_mmoe,
    "cgc": mmoe.build_cgc,
    "ple": mmoe.build_ple,
    "pad_net": pad_net.build,
    "task_specific_norm": task_norm.build,
}


def list_architectures():
    """Names accepted by `mtlzoo.build(..., architecture=...)`."""
    return sorted(_REGISTRY)


def get(name):
    """The builder function of an architecture."""
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown architecture. Expected one of {list_architectures()}. "
            f"Received: architecture={name!r}"
        )
    return _REGISTRY[name]
