"""mtlzoo.tuning.task_affinity: lookahead inter-task affinity."""

import keras
import numpy as np
from tuning_helpers import SHAPE

import mtlzoo
from mtlzoo import tuning


def test_task_affinity_groups_identical_tasks():
    # Three regressions on the same inputs: y, y and -y. The heads start
    # equal, so a step for "a" is exactly a step for "b", and opposes "c".
    tasks = [mtlzoo.Task(n, "regression", head={"units": []}) for n in "abc"]
    model = mtlzoo.build("tiny", tasks, SHAPE)
    for name in "bc":
        model.get_layer(name).set_weights(model.get_layer("a").get_weights())
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (64,) + SHAPE).astype("float32")
    target = (4.0 + x.mean(axis=(1, 2, 3)) / 64.0)[:, None].astype("float32")
    y = {"a": target, "b": target, "c": -target}
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    affinity, names = tuning.task_affinity(
        model, (x, y), steps=8, lr=0.01, batch_size=16
    )
    assert names == ["a", "b", "c"]
    assert affinity.shape == (3, 3)
    np.testing.assert_allclose(affinity[0, 1], affinity[0, 0], rtol=1e-3)
    assert affinity[0, 1] > 0 and affinity[1, 0] > 0
    assert affinity[0, 2] < 0 and affinity[2, 0] < 0
    groups = tuning.suggest_groups((affinity, names), 2, level="P4")
    assert groups == {("a", "b"): "P4", ("c",): "P4"}
    # The groups are a valid tree and a valid `groups=` argument.
    mtlzoo.build("tiny", tasks, SHAPE, branch_points=groups)
    hypermodel = tuning.MultiTaskHyperModel("tiny", tasks, SHAPE, groups=groups)
    assert [tuple(u) for u in hypermodel.branch_groups] == [("a", "b"), ("c",)]
