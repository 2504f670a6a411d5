"""Which trainable variables serve which tasks, computed once per compile."""

import keras


class VariablePartition:
    """The trainable variables of a multi-task model, split by their users.

    A variable is *used* by a task when the task's output depends on it.
    Variables of the weighting method (e.g. uncertainty weighting's log
    variances) count as used by every task. The partition names the groups
    the train step needs:

    - `variables`: every trainable variable, in a fixed order (the order in
      which gradients are computed and optimizer slots are made).
    - `shared_variables`: variables used by every task (the parameters a
      gradient method combines in parameter mode).
    - `trunk_variables`: variables before the shared features (the tensors
      a gradient method combines in representation mode).
    - `head_variables[task]`: variables used by that task only.
    - `main_variables`: what the main optimizer updates: every variable
      except the heads that have their own optimizer.

    Args:
        variables: list of variables. Every trainable variable, in order.
        users: dict `id(variable)` -> set of task names using it.
        task_names: list of str. The tasks, in model order.
        trunk_ids: set of `id(variable)` before the shared features.
        head_optimizer_tasks: iterable of task names whose head has its own
            optimizer. Defaults to none.

    Example:

    >>> partition = VariablePartition.from_model(model)
    >>> [v.path for v in partition.head_variables["digit"]]
    """

    def __init__(
        self, variables, users, task_names, trunk_ids, head_optimizer_tasks=()
    ):
        self.variables = list(variables)
        self.task_names = list(task_names)
        self._users = users
        every = set(self.task_names)
        self.shared_variables = [
            v for v in self.variables if self.users(v) == every
        ]
        self.trunk_variables = [v for v in self.variables if id(v) in trunk_ids]
        self.head_variables = {
            name: [v for v in self.variables if self.users(v) == {name}]
            for name in self.task_names
        }
        by_head_optimizer = {
            id(v) for n in head_optimizer_tasks for v in self.head_variables[n]
        }
        self.main_variables = [
            v for v in self.variables if id(v) not in by_head_optimizer
        ]
        # Per task, the variables it uses outside the shared parameters
        # (parameter mode) or outside the trunk (representation mode): their
        # gradients come out of the same backward pass as the task's row.
        self._own = {
            False: self._task_own(lambda v: self.users(v) != every),
            True: self._task_own(lambda v: id(v) not in trunk_ids),
        }

    @classmethod
    def from_model(
        cls, model, order=None, extra_variables=(), head_optimizer_tasks=()
    ):
        """Compute the partition of a `MultiTaskModel`.

        Args:
            model: `MultiTaskModel`. Its graph decides who uses what.
            order: list of variables giving the order of `variables`;
                trainable variables missing from it come last. Defaults to
                `model.trainable_variables`.
            extra_variables: variables used by every task that are not in
                the model graph (the weighting method's). Defaults to none.
            head_optimizer_tasks: iterable of task names whose head has its
                own optimizer. Defaults to none.

        Returns:
            A `VariablePartition`.
        """
        outputs = model.outputs_dict()
        users = {}
        for name in model.task_names:
            sub = keras.Model(model.inputs, outputs[name])
            for v in sub.trainable_variables:
                users.setdefault(id(v), set()).add(name)
        every = set(model.task_names)
        for v in extra_variables:
            users.setdefault(id(v), every)
        trunk_ids = set()
        if model.shared_tensors:
            trunk = keras.Model(model.inputs, model.shared_tensors)
            trunk_ids = {id(v) for v in trunk.trainable_variables}
        return cls(
            _ordered(model.trainable_variables, order),
            users,
            model.task_names,
            trunk_ids,
            head_optimizer_tasks,
        )

    def users(self, variable):
        """The set of task names whose output depends on `variable`."""
        return self._users.get(id(variable), set())

    def combined_variables(self, representation):
        """The variables whose gradient the weighting method combines.

        Args:
            representation: bool. Representation mode (the trunk before the
                shared features) instead of parameter mode (the variables
                every task uses).
        """
        return self.trunk_variables if representation else self.shared_variables

    def task_own_variables(self, representation):
        """Per task, the variables it uses outside `combined_variables`.

        Args:
            representation: bool. As in `combined_variables`.

        Returns:
            A list with one list of variables per task, in task order.
        """
        return self._own[bool(representation)]

    def _task_own(self, outside):
        return [
            [v for v in self.variables if name in self.users(v) and outside(v)]
            for name in self.task_names
        ]


def _ordered(variables, order):
    """`variables` in the order of `order`; the others last."""
    if order is None:
        return list(variables)
    by_id = {id(v): v for v in variables}
    out = [v for v in order if id(v) in by_id]
    seen = {id(v) for v in out}
    return out + [v for v in by_id.values() if id(v) not in seen]
