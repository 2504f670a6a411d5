"""Feature mappings of the TFDS wrappers (kept for compatibility).

Each `<dataset>_example(features, size, channels)` maps the feature dict of
one TFDS example to `(image, labels)`: a float32 image in [0, 255] resized
to `size` and a dict of labels keyed by task name. They now live in each
dataset's module (`mtlzoo.datasets.celeb_a`, ...), next to its loader;
this module re-exports them under their old names.
"""

from mtlzoo.datasets.celeb_a import CELEB_A_ATTRIBUTES
from mtlzoo.datasets.celeb_a import CELEB_A_LANDMARKS
from mtlzoo.datasets.celeb_a import attribute_task_name
from mtlzoo.datasets.celeb_a import celeb_a_example
from mtlzoo.datasets.cityscapes import cityscapes_example
from mtlzoo.datasets.dsprites import DSPRITES_SYMMETRY
from mtlzoo.datasets.dsprites import dsprites_example
from mtlzoo.datasets.nyu_depth_v2 import nyu_depth_v2_example
from mtlzoo.datasets.oxford_iiit_pet import oxford_iiit_pet_example
from mtlzoo.datasets.shapes3d import shapes3d_example
from mtlzoo.datasets.smallnorb import SMALLNORB_TASKS
from mtlzoo.datasets.smallnorb import smallnorb_example

__all__ = [
    "CELEB_A_ATTRIBUTES",
    "CELEB_A_LANDMARKS",
    "DSPRITES_SYMMETRY",
    "SMALLNORB_TASKS",
    "attribute_task_name",
    "celeb_a_example",
    "cityscapes_example",
    "dsprites_example",
    "nyu_depth_v2_example",
    "oxford_iiit_pet_example",
    "shapes3d_example",
    "smallnorb_example",
]
