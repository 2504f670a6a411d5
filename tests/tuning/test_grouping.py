"""mtlzoo.tuning.suggest_groups and group_score."""

import numpy as np
import pytest

from mtlzoo import tuning


def test_suggest_groups_exhaustive_and_greedy():
    # Known best 2-partition: {0, 2} and {1, 3} (hand-checked).
    a = np.array(
        [
            [0.0, 0.1, 0.9, -0.5],
            [0.0, 0.0, -0.2, 0.6],
            [0.8, -0.1, 0.0, 0.0],
            [-0.4, 0.7, 0.1, 0.0],
        ]
    )
    groups = tuning.suggest_groups(a, 2, names=list("wxyz"), level="P2")
    assert groups == {("w", "y"): "P2", ("x", "z"): "P2"}
    assert tuning.group_score(a, [[0, 2], [1, 3]]) == pytest.approx(3.0)
    assert tuning.suggest_groups(a, 1) == {(0, 1, 2, 3): "P3"}
    assert tuning.suggest_groups(a, 4) == {(i,): "P3" for i in range(4)}
    # Ten tasks (greedy): three blocks of mutual help, noise elsewhere.
    rng = np.random.default_rng(0)
    blocks = [[0, 3, 6], [1, 4, 7, 9], [2, 5, 8]]
    big = rng.uniform(-0.3, 0.0, (10, 10))
    for block in blocks:
        big[np.ix_(block, block)] = rng.uniform(0.5, 1.0)
    found = tuning.suggest_groups(big, 3)
    assert sorted(found) == sorted(tuple(b) for b in blocks)
    with pytest.raises(ValueError, match="n_groups"):
        tuning.suggest_groups(a, 5)
    with pytest.raises(ValueError, match="square"):
        tuning.suggest_groups(np.zeros((2, 3)), 1)
