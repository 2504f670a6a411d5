"""The application ring: what a person runs, on top of the library.

- `mtlzoo.app.cli`: the `mtlzoo` command line, one module per subcommand.
- `mtlzoo.app.train_config`: train a model from a JSON config
  (`mtlzoo train CONFIG`).
- `mtlzoo.app.fine_tune`: fine-tune a preset on an `.npz` file
  (`mtlzoo train --preset NAME --data FILE`).
- `mtlzoo.app.model_source`: models named on the command line (presets,
  `.keras` files, train outputs) for `mtlzoo export` and `mtlzoo predict`.
- `mtlzoo.app.demo`: a preset on the real images shipped with mtlzoo
  (`mtlzoo demo`).
- `mtlzoo.app.quickstart`: `python -m mtlzoo.app.quickstart`.
- `mtlzoo.app.plots`: PNG plots of training, affinity and delta_m.

Nothing in the library (`mtlzoo` outside `mtlzoo/app/`) imports this
package. Its modules are imported one by one (this file imports none).
"""
