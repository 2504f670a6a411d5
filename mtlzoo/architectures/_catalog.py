"""The catalog of architectures: one registry, filled by the modules.

Every architecture module registers its builder where it is defined, under
the module's file name:

>>> @ARCHITECTURES.register("mtan")
... def build(image, stages, tasks, input_shape, heads, **options): ...
"""

from mtlzoo._registry import Registry

ARCHITECTURES = Registry("architecture", "architecture")
