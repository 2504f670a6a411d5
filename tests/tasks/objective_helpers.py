"""Custom losses and metrics shared by the tests of a task's own loss and
metrics (a module, not a test file)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtlzoo_tests")
class ScaledAbsoluteError(keras.losses.Loss):
    """`scale * |y_true - y_pred|` per element (a user's Loss subclass)."""

    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * ops.abs(y_true - y_pred)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="mtlzoo_tests")
def absolute_error(y_true, y_pred):
    """Per-element absolute error (a user's registered function)."""
    return ops.abs(y_true - y_pred)


@keras.saving.register_keras_serializable(package="mtlzoo_tests")
def max_error(y_true, y_pred):
    """Largest absolute error per sample (a user's registered metric)."""
    return ops.max(ops.abs(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="mtlzoo_tests")
def box_l1(y_true, y_pred):
    """Mean L1 error of the box coordinates, per sample."""
    return ops.mean(ops.abs(y_true[:, :4] - y_pred[:, :4]), axis=-1)


def kind_objects(kind):
    """`(loss, metrics)` a user might give a task of `kind`."""
    table = {
        "classification": (
            keras.losses.CategoricalFocalCrossentropy(gamma=1.0),
            [
                keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
                "top_k_categorical_accuracy",
            ],
        ),
        "multilabel": (
            "binary_crossentropy",
            [keras.metrics.AUC(name="auc"), "binary_accuracy"],
        ),
        "regression": (
            keras.losses.Huber(delta=0.5),
            ["mse", keras.metrics.RootMeanSquaredError(name="rmse")],
        ),
        "segmentation": (
            "sparse_categorical_crossentropy",
            [
                "accuracy",
                keras.metrics.IoU(
                    3,
                    target_class_ids=[1],
                    sparse_y_pred=False,
                    name="iou1",
                    dtype="float32",
                ),
            ],
        ),
        "depth": (keras.losses.Huber(), ["mse"]),
        "normals": (
            keras.losses.CosineSimilarity(),
            [keras.metrics.CosineSimilarity(name="cosine")],
        ),
        "box": (box_l1, [box_l1]),
    }
    return table[kind]
