"""Customized gate control (Tang et al., 2020)."""

from mtlzoo.architectures import _experts
from mtlzoo.architectures._catalog import ARCHITECTURES


@ARCHITECTURES.register("cgc")
def build(image, stages, tasks, input_shape, heads, **options):
    """Customized gate control: task-specific and shared experts.

    Every task has `num_experts` experts of its own (`f"{t}_experts"`) and
    all share `num_shared_experts` (`"shared_experts"`); task `t`'s gate
    (`f"{t}_gate"`) mixes its own and the shared experts only, which keeps
    tasks from being forced to share (the "seesaw" fix of the paper).

    Args:
        num_experts: int. Experts per task. Defaults to 2.
        num_shared_experts: int. Shared experts. Defaults to 2.
        expert_units: int or list of int. Layer widths of each expert.
            Defaults to 64.
        spatial: bool. As for `mmoe`. Defaults to True when a task is
            dense, else False.
        kernel_size: int. As for `mmoe`. Defaults to 1.

    Reference:
    - [Tang et al., 2020](https://dl.acm.org/doi/10.1145/3383313.3412236)
    """
    return _experts.build_experts(
        "cgc", image, stages, tasks, input_shape, heads, options
    )
