"""Progressive layered extraction (Tang et al., 2020)."""

from mtlzoo.architectures import _experts
from mtlzoo.architectures._catalog import ARCHITECTURES


@ARCHITECTURES.register("ple")
def build(image, stages, tasks, input_shape, heads, **options):
    """Progressive layered extraction: `num_levels` stacked CGC layers.

    Layer `k` (prefix `f"ple_{k}_"`) has per-task and shared experts; each
    task's gate mixes its own and the shared experts into the task's input
    of the next layer, and a shared gate (`f"ple_{k}_shared_gate"`) mixes
    all experts into the shared experts' next input. The last layer has no
    shared gate; its task mixtures feed the heads.

    Args:
        num_experts: int. Experts per task and layer. Defaults to 2.
        num_shared_experts: int. Shared experts per layer. Defaults to 2.
        num_levels: int. Number of extraction layers. Defaults to 2.
        expert_units: int or list of int. Layer widths of each expert.
            Defaults to 64.
        spatial: bool. As for `mmoe`. Defaults to True when a task is
            dense, else False.
        kernel_size: int. As for `mmoe`. Defaults to 1.

    Reference:
    - [Tang et al., 2020](https://dl.acm.org/doi/10.1145/3383313.3412236)
    """
    return _experts.build_experts(
        "ple", image, stages, tasks, input_shape, heads, options
    )
