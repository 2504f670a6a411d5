"""The metrics of `Task`: fresh metric objects (the kind's and the
task's own) and their update from a batch, present labels only."""

import keras
from keras import ops

from mtlzoo.tasks import _user_objects


class TaskMetricsMixin:
    """Metric building and updates of `mtlzoo.tasks.Task`."""

    def build_metrics(self):
        """Fresh metric objects for this task, named `<task>_<metric>`:
        the kind's (`build_default_metrics`), then the task's own
        `metrics`."""
        return self.build_default_metrics() + self.build_user_metrics()

    def build_default_metrics(self):
        """Fresh objects of the kind's metrics, one per `metric_directions`
        key, in that order. Defaults to `keras.metrics.Mean`s."""
        return [
            keras.metrics.Mean(name=f"{self.name}_{metric}")
            for metric in self.metric_directions
        ]

    def build_user_metrics(self):
        """Fresh objects of the task's own `metrics`."""
        return [_user_objects.build_metric(self, m) for m in self.metrics]

    def update_metrics(self, metrics, y_true, y_pred, sample_weight=None):
        """Update `build_metrics()` objects, counting present labels only."""
        y_true = self.standardize(y_true, y_pred)
        mask = self._apply_sample_weight(
            self.present_mask(y_true), sample_weight
        )
        y_pred = ops.cast(y_pred, "float32")
        count = len(self.metric_directions)
        self.update_metric_states(metrics[:count], y_true, y_pred, mask)
        if self.metrics:
            one_hot = [
                self.sparse_labels and _user_objects.wants_one_hot(m)
                for m in self.metrics
            ]
            _user_objects.update_metrics(
                self, metrics[count:], one_hot, y_true, y_pred, sample_weight
            )

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        """Update `metrics` from standardised labels, float32 predictions
        and the (sample-weighted) present mask."""
        raise NotImplementedError
