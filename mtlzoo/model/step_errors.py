"""The errors of a step's checks, as the user should read them.

In graph mode a failed check is a `tf.debugging.Assert` and surfaces as a
TensorFlow `InvalidArgumentError` carrying a node trace. The check's
message is tagged when the assertion is made (`tagged`), and the model's
train, test and predict functions are wrapped (`checked_function`) so
that the user gets a `ValueError` with that message only.
"""

import codecs
import re

import tensorflow as tf

from mtlzoo.model import input_range

_TAG = "mtlzoo-check: "
_FOUND = re.compile(
    r"assertion failed: \[" + re.escape(_TAG) + r"(.*?)\](?:\s*\n|\s*$)",
    re.DOTALL,
)


def tagged(message):
    """`message` (str or string tensor) marked for `translate`."""
    if isinstance(message, str):
        return _TAG + message
    return tf.strings.join([_TAG, message])


def text(message):
    """A check's message (str or eager string tensor) as a str."""
    if isinstance(message, str):
        return message
    value = message.numpy()
    return value.decode() if isinstance(value, bytes) else str(value)


def translate(error):
    """The `ValueError` a TensorFlow error from a failed check stands for.

    Args:
        error: an exception raised by a train, test or predict function.

    Returns:
        A `ValueError` with the check's message, or None when `error` is
        not from a check.
    """
    if not isinstance(error, tf.errors.OpError):
        return None
    found = _FOUND.search(str(error.message))
    if found is None:
        return None
    raw = found.group(1)
    try:
        message = codecs.escape_decode(raw.encode())[0].decode()
    except (UnicodeDecodeError, ValueError):
        message = raw
    return ValueError(message)


def checked_function(model, function):
    """A train, test or predict function of `model`, made to speak clearly.

    The returned function raises the `ValueError` of a failed check
    instead of TensorFlow's error (other errors pass through) and, after
    its first call, warns when the images look scaled while the model
    expects raw pixel values (`mtlzoo.model.input_range`). Calling this on
    a function it returned re-arms that warning.

    Args:
        model: the `MultiTaskModel`.
        function: the function Keras made (`model.train_function`, ...),
            or None.
    """
    if function is None:
        return None
    input_range.arm(model)
    if getattr(function, "_mtlzoo_checked", False):
        return function

    def run(*args, **kwargs):
        try:
            out = function(*args, **kwargs)
        except tf.errors.OpError as error:
            clear = translate(error)
            if clear is None:
                raise
            raise clear from None
        input_range.report(model)
        return out

    run._mtlzoo_checked = True
    return run
