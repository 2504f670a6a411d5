"""Preset files: where presets live, their configs, weights and cards.

The layer below `mtlzoo.model` that `MultiTaskModel.from_preset` /
`save_to_preset` use (as keras-hub's `preset_utils` sits below its models):
`registry` (finding `zoo_configs/<name>/` and reading `config.json`),
`weights` (locating `pretrained/<name>/` files, sha256 checks), `transfer`
(overrides and weight mapping onto an overridden model), `schema` (config
validation), `card` (cards and licence notices) and `saving` (the
`from_preset` / `save_to_preset` implementations, given the model class).
The user-facing zoo (`mtlzoo.zoo.load`, `evaluate`) sits above the model.

Nothing here imports TensorFlow at import time except `saving` and
`transfer`, so the command line's `mtlzoo list` / `info` stay fast.
"""
