"""What the point kinds (`keypoints`, `heatmap`) share about their options."""


class PointOptionsMixin:
    """`get_config` and `__deepcopy__` of a kind whose own options are
    listed with their defaults in `option_defaults`, `keypoint_names` among
    them: options that differ from their default go into the config, and a
    copy gets its own list of names."""

    #: dict option name -> default value.
    option_defaults = {}

    def get_config(self):
        config = super().get_config()
        for key, default in self.option_defaults.items():
            value = getattr(self, key)
            if value != default:
                config[key] = list(value) if key == "keypoint_names" else value
        return config

    def __deepcopy__(self, memo):
        new = super().__deepcopy__(memo)
        if self.keypoint_names is not None:
            new.keypoint_names = list(self.keypoint_names)
        return new
