"""The callbacks a weighting method adds to `fit()`."""

import keras


def with_weighting_callbacks(callbacks, weighting, model):
    """`callbacks` plus those of `weighting.callbacks()`, once each.

    A weighting method that adapts between steps or epochs (e.g. DWA)
    returns Keras callbacks from `callbacks()`. They are appended to the
    user's callbacks unless the same instance is already there; but they
    go before the first `keras.callbacks.BackupAndRestore`, so that the
    backup written at the end of an epoch holds the method's state after
    its epoch-end update (DWA's loss history, DTP's KPIs): a resumed run
    then continues exactly.

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
        new = [c for c in extra if id(c) not in present]
        for callback in new:
            callback.set_model(model)
        callbacks.callbacks[:] = _before_backups(callbacks.callbacks, new)
        return callbacks
    callbacks = list(callbacks or [])
    present = {id(c) for c in callbacks}
    return _before_backups(
        callbacks, [c for c in extra if id(c) not in present]
    )


def _before_backups(callbacks, extra):
    """`callbacks` with `extra` inserted before the first BackupAndRestore
    (appended when there is none)."""
    callbacks = list(callbacks)
    index = next(
        (
            i
            for i, c in enumerate(callbacks)
            if isinstance(c, keras.callbacks.BackupAndRestore)
        ),
        len(callbacks),
    )
    return callbacks[:index] + list(extra) + callbacks[index:]
