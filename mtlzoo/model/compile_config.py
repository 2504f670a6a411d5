"""What plain Keras reads of a `MultiTaskModel`'s compile config."""

import collections.abc

import keras

#: The keys a serialized Keras object has; `MultiTaskModel` ignores them
#: in its compile config.
CONFIG_KEYS = ("module", "class_name", "config", "registered_name")


@keras.saving.register_keras_serializable(package="mtlzoo")
class CompileConfig(collections.abc.Mapping):
    """The part of a `MultiTaskModel` compile config plain Keras can use.

    `keras.models.clone_model` turns any Functional subclass (a
    `MultiTaskModel` too) into a plain Functional model and compiles it
    with `keras.Model.compile(**deserialize(model.get_compile_config()))`,
    which refuses `weighting`, `head_optimizers`, `check_finite`. So
    `MultiTaskModel.get_compile_config()` is the dict of the serialized
    `compile()` arguments (what `MultiTaskModel.compile_from_config` reads)
    that also carries the keys of a serialized `CompileConfig`, whose
    `config` holds the arguments plain Keras knows (`optimizer`,
    `run_eagerly`, `steps_per_execution`, `jit_compile`). Deserialized,
    it is this mapping of those arguments: the clone gets the model's
    optimizer settings.

    Args:
        arguments: dict. `compile()` arguments (those plain Keras knows
            are kept).
    """

    KERAS_KEYS = (
        "optimizer",
        "run_eagerly",
        "steps_per_execution",
        "jit_compile",
    )

    def __init__(self, arguments):
        self.arguments = {
            k: v for k, v in dict(arguments).items() if k in self.KERAS_KEYS
        }

    def __getitem__(self, key):
        return self.arguments[key]

    def __iter__(self):
        return iter(self.arguments)

    def __len__(self):
        return len(self.arguments)

    def get_config(self):
        return keras.saving.serialize_keras_object(self.arguments)

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config))
