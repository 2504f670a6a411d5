"""`Preprocess`: raw images (0..255) to what a backbone expects."""

import keras
from keras import ops

PREPROCESSING_MODES = ("tf", "torch", "caffe", "unit", "none")

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="mtlzoo")
class Preprocess(keras.layers.Layer):
    """Maps raw images (pixel values 0..255) to what a backbone expects.

    Args:
        mode: str. One of `"tf"` (`x / 127.5 - 1`), `"torch"` (`x / 255`,
            then ImageNet mean/std), `"caffe"` (RGB to BGR, then subtract the
            ImageNet mean), `"unit"` (`x / 255`) or `"none"` (identity).
            With a channel count other than 3, `"torch"` and `"caffe"` use
            the mean of the three ImageNet constants. Defaults to `"none"`.
        channels_out: int or `None`. Number of output channels; 1-channel
            inputs are repeated to match. `None` keeps the input channels.
            Defaults to `None`.

    Example:

    >>> layer = Preprocess("tf", channels_out=3)
    >>> layer(np.full((1, 4, 4, 1), 255.0)).shape
    TensorShape([1, 4, 4, 3])
    """

    def __init__(self, mode="none", channels_out=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"Unknown preprocessing mode; expected one of "
                f"{PREPROCESSING_MODES}. Received: mode={mode!r}"
            )
        if channels_out is not None and (
            not isinstance(channels_out, int) or channels_out < 1
        ):
            raise ValueError(
                "`channels_out` must be a positive int or None. "
                f"Received: channels_out={channels_out!r}"
            )
        self.mode = mode
        self.channels_out = channels_out

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.channels_out not in (None, channels) and channels != 1:
            raise ValueError(
                f"Preprocess '{self.name}' can only repeat 1 channel to "
                f"{self.channels_out}. Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.channels_out is not None and x.shape[-1] != self.channels_out:
            x = ops.repeat(x, self.channels_out, axis=-1)
        channels = x.shape[-1]
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "torch":
            mean = self._constant(_IMAGENET_MEAN, channels)
            std = self._constant(_IMAGENET_STD, channels)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            if channels == 3:
                x = ops.flip(x, axis=-1)
            return x - self._constant(_CAFFE_MEAN_BGR, channels)
        return x

    def _constant(self, values, channels):
        if channels != 3:
            values = [sum(values) / 3.0] * channels
        return ops.convert_to_tensor(values, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        channels = self.channels_out or input_shape[-1]
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "channels_out": self.channels_out})
        return config
