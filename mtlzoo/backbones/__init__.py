"""Backbone catalog, feature levels and stage splitting.

A backbone is registered under a short name (`list_backbones()`), built by
`get(name).build(input_shape)` and handed back cut into *stages*: one
`keras.Model` per feature level `"P1"`..`"P5"` (level `Pn` has stride
`2**n`), so that a multi-task architecture can share the trunk up to a level
and give each branch its own copy of the later stages (`copy_stage`).

Each level is tapped at the last *clean cut* at its stride (see
`mtlzoo.backbones.stages`). One module per entry, file name = registry
name: `applications.py` (the `keras.applications` table), `tiny.py`,
`lenet.py`, `resnet_small.py`; `register_backbone` adds your own.

Your own functional `keras.Model` works as a backbone without registering:
`mtlzoo.build(model, tasks, ...)` wraps it in a `ModelBackbone`, its levels
found from its feature strides (`find_levels`) or given as
`ModelBackbone(model, levels={"P3": "layer_name", ...})`.

Example:

>>> stages = get("tiny").build((32, 32, 1))
>>> x = stages.preprocess(np.zeros((2, 32, 32, 1)))
>>> for level in stages.levels:
...     x = stages.stages[level](x)
>>> x.shape
TensorShape([2, 1, 1, 16])
"""

from mtlzoo.backbones import applications  # noqa: F401  (registers)
from mtlzoo.backbones import converted  # noqa: F401  (registers)
from mtlzoo.backbones import lenet  # noqa: F401  (registers)
from mtlzoo.backbones import mtcnn_onet  # noqa: F401  (registers)
from mtlzoo.backbones import resnet_small  # noqa: F401  (registers)
from mtlzoo.backbones import tiny  # noqa: F401  (registers)
from mtlzoo.backbones import tiny_xception  # noqa: F401  (registers)
from mtlzoo.backbones._blocks import BN_MOMENTUM
from mtlzoo.backbones.converted import register_converted_backbone
from mtlzoo.backbones.levels import find_levels
from mtlzoo.backbones.model_backbone import ModelBackbone
from mtlzoo.backbones.preprocess import PREPROCESSING_MODES
from mtlzoo.backbones.preprocess import Preprocess
from mtlzoo.backbones.registry import get
from mtlzoo.backbones.registry import list_backbones
from mtlzoo.backbones.registry import register_backbone
from mtlzoo.backbones.registry import resolve
from mtlzoo.backbones.stages import LEVELS
from mtlzoo.backbones.stages import BackboneSpec
from mtlzoo.backbones.stages import BackboneStages

__all__ = [
    "BN_MOMENTUM",
    "LEVELS",
    "PREPROCESSING_MODES",
    "BackboneSpec",
    "BackboneStages",
    "ModelBackbone",
    "Preprocess",
    "find_levels",
    "get",
    "list_backbones",
    "register_backbone",
    "register_converted_backbone",
    "resolve",
]
