"""The `compile()` arguments of a `MultiTaskModel` as one Keras object."""

import collections.abc

import keras


@keras.saving.register_keras_serializable(package="mtlzoo")
class CompileConfig(collections.abc.Mapping):
    """The `compile()` arguments of a `MultiTaskModel`, saved as one object.

    `MultiTaskModel.get_compile_config()` returns this object serialized,
    and `MultiTaskModel.compile_from_config` reads `arguments`: every
    argument (weighting, head optimizers, ...). As a mapping, the object
    shows only the arguments `keras.Model.compile` knows (`optimizer`,
    `run_eagerly`, `steps_per_execution`, `jit_compile`): Keras'
    `clone_model` turns any Functional subclass into a plain Functional
    model and compiles it with `compile(**config)`, which refuses
    `weighting`. So a clone of a compiled `MultiTaskModel` gets the same
    optimizer settings.

    Args:
        arguments: dict. The `compile()` arguments.
    """

    KERAS_KEYS = (
        "optimizer",
        "run_eagerly",
        "steps_per_execution",
        "jit_compile",
    )

    def __init__(self, arguments):
        self.arguments = dict(arguments)

    def __getitem__(self, key):
        if key not in self.KERAS_KEYS:
            raise KeyError(key)
        return self.arguments[key]

    def __iter__(self):
        return iter(k for k in self.KERAS_KEYS if k in self.arguments)

    def __len__(self):
        return sum(1 for _ in self)

    def get_config(self):
        return {
            "arguments": keras.saving.serialize_keras_object(self.arguments)
        }

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["arguments"]))
