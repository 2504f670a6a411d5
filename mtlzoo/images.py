"""Turn arbitrary images into the batch a model takes.

`prepare(images, model)` accepts what a user has at hand (an image file,
a list of files, a PIL image, a uint8 or float array of any size, grey,
grey + alpha, RGB or RGBA, one image or a batch) and returns a float32
batch `(N, height, width, channels)` of the model's input size and
channel count, values 0..255 (mtlzoo models scale their input
themselves, see `MultiTaskModel`'s `preprocessing`).

Example:

>>> model = mtlzoo.load("fashion_tiny_test")
>>> batch = mtlzoo.images.prepare(["shirt.png", "boot.jpg"], model)
>>> batch.shape
(2, 28, 28, 1)
>>> predictions = model.predict(batch)
"""

import os

import keras
import numpy as np

# ITU-R 601-2 luma, what PIL's `convert("L")` uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype="float32")


def prepare(
    images,
    model_or_input_shape,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    interpolation="bilinear",
    antialias=True,
):
    """Resize and convert images to a model's input: a float32 batch.

    Every image is first brought to the model's channel count, then
    resized to its input size:

    - Channels: grey to RGB repeats the grey value; RGB to grey is the
      ITU-R 601-2 luma (`0.299 R + 0.587 G + 0.114 B`, as PIL's
      `convert("L")`); an alpha channel is dropped (as `convert("RGB")`
      and `keras.utils.load_img` do), or set to 255 when a 2- or 4-channel
      model needs one. Other channel counts must match the model exactly.
    - Size: by default the image is stretched to the input size, as
      `keras.utils.load_img(target_size=...)` and `keras.layers.Resizing`
      do, with an antialiased bilinear filter (so a large image shrinks
      without aliasing). `crop_to_aspect_ratio=True` keeps the aspect
      ratio by cropping the centre first (`keras.preprocessing.image.
      smart_resize`); `pad_to_aspect_ratio=True` pads with black instead.
      An input dimension that is None (a model built for any size) keeps
      the image's own size. Images already of the input size are passed
      through unchanged.
    - Values: uint8 and other integer images are taken as 0..255, float
      images as they are (multiply a 0..1 image by 255 first). The result
      is float32, of values 0..255 for 0..255 images.

    Files are read with PIL, turned upright from their EXIF orientation;
    palette images become RGB (RGBA if they have transparency).

    Args:
        images: what to convert: a path (str or `os.PathLike`), a PIL
            image, an array `(H, W)`, `(H, W, C)` (`C` from 1 to 4) or a
            batch `(N, H, W, C)` or `(N, H, W)` (a 3-D array whose last axis
            is longer than 4 is a batch of grey images), or a list or tuple
            of single images of any of these kinds, each of its own size.
            TensorFlow tensors are read as arrays.
        model_or_input_shape: a `keras.Model` with one image input (its
            `(height, width, channels)` is read from `model.inputs`), or an
            input shape `(height, width, channels)`.
        crop_to_aspect_ratio: bool. Crop the centre to the input's aspect
            ratio before resizing. Defaults to False.
        pad_to_aspect_ratio: bool. Pad to the input's aspect ratio before
            resizing. Defaults to False.
        interpolation: str. `keras.ops.image.resize` interpolation:
            `"bilinear"`, `"nearest"`, `"bicubic"`, `"lanczos3"`,
            `"lanczos5"`, `"area"`. Defaults to `"bilinear"`.
        antialias: bool. Filter when shrinking. Defaults to True.

    Returns:
        A float32 NumPy array `(N, height, width, channels)`; N is 1 for a
        single image.

    Raises:
        ValueError: a missing or unreadable file, an empty input, an array
            of a shape that is no image, channels that cannot be converted,
            or images of several sizes for a model of any size.
        TypeError: an input of another type, or an array that is not
            numbers.

    Example:

    >>> rgba = np.zeros((300, 200, 4), "uint8")  # any size, with alpha
    >>> mtlzoo.images.prepare(rgba, (28, 28, 1)).shape
    (1, 28, 28, 1)
    """
    height, width, channels = input_shape(model_or_input_shape)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Pass only one of `crop_to_aspect_ratio` and "
            "`pad_to_aspect_ratio`. Received: crop_to_aspect_ratio=True, "
            "pad_to_aspect_ratio=True"
        )
    batches = []
    for batch, clip in _batches(images):
        batch = convert_channels(batch, channels)
        size = (height or batch.shape[1], width or batch.shape[2])
        if tuple(batch.shape[1:3]) != size:
            batch = keras.ops.convert_to_numpy(
                keras.ops.image.resize(
                    batch,
                    size,
                    interpolation=interpolation,
                    antialias=antialias,
                    crop_to_aspect_ratio=crop_to_aspect_ratio,
                    pad_to_aspect_ratio=pad_to_aspect_ratio,
                    data_format="channels_last",
                )
            )
            if clip:
                batch = np.clip(batch, 0.0, 255.0)
        batches.append(batch.astype("float32", copy=False))
    sizes = sorted({tuple(b.shape[1:3]) for b in batches})
    if len(sizes) > 1:
        raise ValueError(
            "The model takes images of any size, so they are not resized, "
            "and these differ in size: pass them one at a time or give an "
            f"input shape. Received: image sizes={sizes}"
        )
    return np.concatenate(batches) if len(batches) > 1 else batches[0]


def input_shape(model_or_input_shape):
    """`(height, width, channels)` of a model's image input.

    Args:
        model_or_input_shape: a `keras.Model` with one input `(batch,
            height, width, channels)`, or a shape `(height, width,
            channels)`. Height and width may be None (any size).

    Returns:
        A tuple of 3 entries: height and width (int or None), channels
        (int).
    """
    value = model_or_input_shape
    if isinstance(value, keras.Model):
        inputs = getattr(value, "inputs", None)
        if not inputs or len(inputs) != 1:
            raise ValueError(
                "The model must be built with one image input "
                f"(batch, height, width, channels). Received: model inputs="
                f"{None if not inputs else [tuple(i.shape) for i in inputs]}"
            )
        shape = tuple(inputs[0].shape)[1:]
    elif isinstance(value, (tuple, list)):
        shape = tuple(value)
    else:
        raise TypeError(
            "Expected a keras.Model or an input shape (height, width, "
            f"channels). Received: model_or_input_shape={value!r}"
        )
    if len(shape) != 3 or not all(
        d is None or (isinstance(d, (int, np.integer)) and d > 0) for d in shape
    ):
        raise ValueError(
            "An image input shape is (height, width, channels) of positive "
            f"ints (height and width may be None). Received: input shape="
            f"{shape!r}"
        )
    if shape[2] is None:
        raise ValueError(
            "The model's channel count must be known. Received: input "
            f"shape={shape!r}"
        )
    return tuple(None if d is None else int(d) for d in shape)


def convert_channels(batch, channels):
    """A batch `(N, H, W, C)` with `channels` channels (see `prepare`).

    Args:
        batch: array `(N, H, W, C)`. Images with C from 1 to 4: grey, grey
            + alpha, RGB, RGBA (or any C equal to `channels`).
        channels: int. Wanted channel count.

    Returns:
        A float32 array `(N, H, W, channels)`.
    """
    have = batch.shape[-1]
    batch = np.asarray(batch, dtype="float32")
    if have == channels:
        return batch
    if have > 4 or channels > 4:
        raise ValueError(
            "Only grey, grey + alpha, RGB and RGBA images (1 to 4 channels) "
            "are converted; other channel counts must match the model's. "
            f"Received: image channels={have}, model channels={channels}"
        )
    colour, alpha = (batch[..., :-1], batch[..., -1:])
    if have in (1, 3):
        colour, alpha = batch, None
    if colour.shape[-1] == 3 and channels in (1, 2):
        colour = (colour @ _LUMA)[..., None]
    elif colour.shape[-1] == 1 and channels in (3, 4):
        colour = np.repeat(colour, 3, axis=-1)
    if channels in (2, 4):
        if alpha is None:
            alpha = np.full(batch.shape[:-1] + (1,), 255.0, "float32")
        colour = np.concatenate([colour, alpha], axis=-1)
    return colour


def _batches(images):
    """`[(batch (N, H, W, C), clip)]` from any accepted input."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(
                f"No images to prepare. Received: images={images!r}"
            )
        return [_one(item, i) for i, item in enumerate(images)]
    if _is_path(images) or _is_pil(images):
        return [_one(images, None)]
    array = _array(images, "images")
    if array.ndim == 3 and array.shape[-1] > 4:
        array = array[..., None]  # (N, H, W) grey batch
    elif array.ndim in (2, 3):
        return [_one(array, None)]
    if array.ndim != 4 or array.shape[-1] < 1:
        raise ValueError(
            "An image array is (H, W), (H, W, C), (N, H, W) or (N, H, W, C). "
            f"Received: images with shape={array.shape}"
        )
    _check_size(array.shape[1:3], "images", array.shape)
    if array.shape[0] == 0:
        raise ValueError(
            f"No images to prepare. Received: images with shape={array.shape}"
        )
    return [(array, array.dtype.kind in "ui")]


def _one(item, index):
    """One image as a `((1, H, W, C), clip)` pair."""
    name = "images" if index is None else f"images[{index}]"
    if _is_path(item):
        item = _read(item)
    if _is_pil(item):
        item = _from_pil(item)
    array = _array(item, name)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or not 1 <= array.shape[-1] <= 4:
        raise ValueError(
            "One image is an array (H, W) or (H, W, C) with 1 to 4 channels "
            "(a list holds single images, not batches). "
            f"Received: {name} with shape={array.shape}"
        )
    _check_size(array.shape[:2], name, array.shape)
    return array[None], array.dtype.kind in "ui"


def _array(value, name):
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise TypeError(
            "Expected an image path, a PIL image, an array or a list of "
            f"them. Received: {name}={value!r}"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"Cannot read an image array ({error}). Received: {name} of type "
            f"{type(value).__name__}"
        ) from None
    if array.dtype.kind not in "uif":
        raise TypeError(
            "Image arrays hold numbers (uint8 0..255, or floats). "
            f"Received: {name} with dtype={array.dtype}"
        )
    return array


def _check_size(size, name, shape):
    if min(size) < 1:
        raise ValueError(
            f"An image has a height and width of at least 1. Received: "
            f"{name} with shape={tuple(shape)}"
        )


def _is_path(value):
    return isinstance(value, (str, os.PathLike))


def _is_pil(value):
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with Keras use
        return False
    return isinstance(value, Image.Image)


def _read(path):
    from PIL import Image
    from PIL import ImageOps

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"No such image file. Received: image={path!r}")
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image)
    except OSError as error:
        raise ValueError(
            f"Cannot read image ({error}). Received: image={path!r}"
        ) from None


def _from_pil(image):
    """A PIL image as a uint8 array: grey, grey + alpha, RGB or RGBA."""
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        bands = image.getbands()
        if len(bands) == 1 and image.mode != "P":
            image = image.convert("L")
        elif "A" in bands or "transparency" in image.info:
            image = image.convert("RGBA")
        else:
            image = image.convert("RGB")
    return np.asarray(image)
