"""Multi-gate mixture of experts (Ma et al., 2018)."""

from mtlzoo.architectures import _experts
from mtlzoo.architectures import cgc
from mtlzoo.architectures import ple
from mtlzoo.architectures._catalog import ARCHITECTURES


@ARCHITECTURES.register("mmoe")
def build(image, stages, tasks, input_shape, heads, **options):
    """Multi-gate mixture of experts on the backbone's deepest features.

    `num_experts` experts (`"mmoe_experts"`) shared by all tasks; task `t`
    mixes them with its own softmax gate (`f"{t}_gate"`) computed from the
    same input, and its head reads the mixture. The shared representation
    is the experts' input (the pooled or spatial backbone output; the
    experts and gates count as task-side parameters for representation
    gradients).

    Args:
        num_experts: int. Number of experts. Defaults to 4.
        expert_units: int or list of int. Layer widths of each expert.
            Defaults to 64.
        spatial: bool. Experts on the feature map (convolutions, per-pixel
            gates) instead of the pooled vector. Defaults to True when a
            task is dense, else False; dense tasks need it.
        kernel_size: int. Spatial size of the experts' first convolution
            (spatial mode only). Defaults to 1.

    Reference:
    - [Ma et al., 2018](https://dl.acm.org/doi/10.1145/3219819.3220007)
    """
    return _experts.build_experts(
        "mmoe", image, stages, tasks, input_shape, heads, options
    )


# The names this module had when it also held CGC, PLE and the experts.
build_mmoe = build
build_cgc = cgc.build
build_ple = ple.build
Experts = _experts.Experts
ExpertGate = _experts.ExpertGate
gated_experts = _experts.gated_experts
OPTIONS = _experts.OPTIONS
