"""Task groups from an affinity matrix, as a `branch_points` dict."""

import itertools

import numpy as np

CRITERIA = ("sum", "mean")


def group_score(affinity, groups, criterion="sum"):
    """Total within-group affinity of a partition.

    Args:
        affinity: `(T, T)` array; `affinity[i, j]` is the effect of task
            `i` on task `j`.
        groups: list of lists of task indices.
        criterion: str. `"sum"`: the sum of `affinity[i, j]` over ordered
            pairs `i != j` in the same group. `"mean"` (TAG): for each task
            `j`, the mean affinity onto `j` from the other members of its
            group (0 alone), summed over tasks.

    Returns:
        float.
    """
    a = np.asarray(affinity, dtype=float)
    total = 0.0
    for group in groups:
        group = list(group)
        if len(group) < 2:
            continue
        block = a[np.ix_(group, group)]
        onto = block.sum(axis=0) - np.diag(block)
        if criterion == "sum":
            total += float(onto.sum())
        else:
            total += float(onto.sum() / (len(group) - 1))
    return total


def suggest_groups(
    affinity,
    n_groups,
    names=None,
    level="P3",
    criterion="sum",
    exhaustive_limit=8,
):
    """Split tasks into `n_groups` groups that help each other most.

    Maximises the total within-group affinity (see `group_score`) over all
    partitions into exactly `n_groups` non-empty groups: exhaustively for
    up to `exhaustive_limit` tasks (as in TAG), else greedily (merge the
    best pair of groups until `n_groups` remain, then move single tasks
    while that helps).

    Args:
        affinity: `(T, T)` array, or the `(affinity, names)` pair that
            `task_affinity` returns.
        n_groups: int. Number of groups, 1..T.
        names: list of str. Task names; defaults to the names in the pair,
            else indices.
        level: str. Branch level given to every group. Defaults to `"P3"`.
        criterion: str. `"sum"` or `"mean"` (see `group_score`).
        exhaustive_limit: int. Largest T searched exhaustively. Defaults
            to 8.

    Returns:
        dict `{tuple of task names: level}`, usable as `branch_points=` of
        `mtlzoo.build` or `groups=` of `MultiTaskHyperModel`.

    Example:

    >>> affinity = np.array([[0, .5, -.2], [.4, 0, -.3], [-.1, -.2, 0]])
    >>> mtlzoo.tuning.suggest_groups(affinity, 2, names=["a", "b", "c"])
    {('a', 'b'): 'P3', ('c',): 'P3'}

    Reference:
    - [Fifty et al., 2021, Efficiently Identifying Task Groupings for
      Multi-Task Learning](https://arxiv.org/abs/2109.04617)
    """
    if isinstance(affinity, tuple) and len(affinity) == 2:
        affinity, pair_names = affinity
        names = pair_names if names is None else names
    a = np.asarray(affinity, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(
            "`affinity` must be a square (T, T) matrix. "
            f"Received: affinity.shape={a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(
            "`affinity` must be finite (NaN entries: a task without labels "
            f"in every measured batch?). Received: affinity={a.tolist()!r}"
        )
    t = a.shape[0]
    if (
        isinstance(n_groups, bool)
        or not isinstance(n_groups, int)
        or not (1 <= n_groups <= t)
    ):
        raise ValueError(
            f"`n_groups` must be an int in 1..{t}. "
            f"Received: n_groups={n_groups!r}"
        )
    if criterion not in CRITERIA:
        raise ValueError(
            f"`criterion` must be one of {list(CRITERIA)}. "
            f"Received: criterion={criterion!r}"
        )
    if names is None:
        names = list(range(t))
    names = list(names)
    if len(names) != t:
        raise ValueError(
            f"`names` must have one entry per task ({t}). "
            f"Received: names={names!r}"
        )
    if t <= exhaustive_limit:
        groups = _exhaustive(a, n_groups, criterion)
    else:
        groups = _greedy(a, n_groups, criterion)
    groups = sorted((sorted(g) for g in groups), key=lambda g: g[0])
    return {tuple(names[i] for i in g): level for g in groups}


def _partitions(n, k):
    """All partitions of range(n) into exactly k blocks."""

    def grow(i, labels, used):
        if n - i < k - used:
            return
        if i == n:
            if used == k:
                yield list(labels)
            return
        for label in range(min(used + 1, k)):
            labels.append(label)
            yield from grow(i + 1, labels, max(used, label + 1))
            labels.pop()

    for labels in grow(0, [], 0):
        yield [[i for i in range(n) if labels[i] == b] for b in range(k)]


def _exhaustive(a, k, criterion):
    best, best_score = None, -np.inf
    for groups in _partitions(a.shape[0], k):
        score = group_score(a, groups, criterion)
        if score > best_score + 1e-12:
            best, best_score = groups, score
    return best


def _greedy(a, k, criterion):
    groups = [[i] for i in range(a.shape[0])]
    while len(groups) > k:
        best = None
        for p, q in itertools.combinations(range(len(groups)), 2):
            merged = groups[p] + groups[q]
            gain = group_score(a, [merged], criterion) - group_score(
                a, [groups[p], groups[q]], criterion
            )
            if best is None or gain > best[0] + 1e-12:
                best = (gain, p, q)
        _, p, q = best
        groups[p] = groups[p] + groups[q]
        del groups[q]
    improved, rounds = True, 0
    while improved and rounds < 100:
        improved, rounds = False, rounds + 1
        current = group_score(a, groups, criterion)
        for task in range(a.shape[0]):
            src = next(g for g in groups if task in g)
            if len(src) == 1:
                continue
            for dst in groups:
                if dst is src:
                    continue
                src.remove(task)
                dst.append(task)
                score = group_score(a, groups, criterion)
                if score > current + 1e-12:
                    current, improved = score, True
                    break
                dst.remove(task)
                src.append(task)
            if improved:
                break
    return groups
