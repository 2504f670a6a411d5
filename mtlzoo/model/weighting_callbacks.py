"""The callbacks a weighting method adds to `fit()`."""

import keras


def with_weighting_callbacks(callbacks, weighting, model):
    """`callbacks` plus those of `weighting.callbacks()`, once each.

    A weighting method that adapts between steps or epochs (e.g. DWA)
    returns Keras callbacks from `callbacks()`. They are appended to the
    user's callbacks unless the same instance is already there.

    Args:
        callbacks: None, a list of callbacks or a
            `keras.callbacks.CallbackList` (the `fit()` argument).
        weighting: the model's `mtlzoo.weighting.Weighting`, or None.
        model: the model being fitted (set on callbacks added to a
            `CallbackList`).

    Returns:
        What `fit()` should receive as `callbacks`.
    """
    method = getattr(weighting, "callbacks", None)
    extra = list(method()) if callable(method) else []
    if not extra:
        return callbacks
    if isinstance(callbacks, keras.callbacks.CallbackList):
        present = {id(c) for c in callbacks.callbacks}
        for callback in extra:
            if id(callback) not in present:
                callback.set_model(model)
                callbacks.callbacks.append(callback)
        return callbacks
    callbacks = list(callbacks or [])
    present = {id(c) for c in callbacks}
    return callbacks + [c for c in extra if id(c) not in present]
