"""One process of the multi-worker test (not a test file).

`test_multi_worker.py` starts two of these as the workers of a
`tf.distribute.MultiWorkerMirroredStrategy` cluster on localhost, and one
more without a cluster (one process, one device), then compares what they
wrote. Usage:

    python _multi_worker_script.py OUT.npz \
        [--cluster HOST:PORT,HOST:PORT --index I] [--save DIR]

Every process trains a fresh `MultiTaskModel` (BatchNorm frozen, same
seed) on the same global batches with `equal` weighting, fed as a
`tf.data.Dataset` sharded by DATA, then with `pcgrad` and a head
optimizer for one task, fed with
`strategy.distribute_datasets_from_function`, and writes the final weights
of both runs, their weights before training and the `evaluate` loss of the
first to OUT.npz. With `--save DIR`, the equal-weighting model is saved
the way a cluster should: the chief to `DIR/model.keras`, every other
worker to a temporary directory (all workers must call `save`).
"""

import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

SHAPE = (16, 16, 1)
GLOBAL_BATCH = 8
STEPS = 3


def parse(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--cluster", default=None)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--save", default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.cluster:
        # TF_CONFIG must be set before the strategy is made.
        os.environ["TF_CONFIG"] = json.dumps(
            {
                "cluster": {"worker": args.cluster.split(",")},
                "task": {"type": "worker", "index": args.index},
            }
        )
    import tensorflow as tf

    # Before anything runs a TensorFlow op (importing mtlzoo does).
    if args.cluster:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()

    import keras
    import numpy as np

    import mtlzoo

    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
        mtlzoo.Task("size", "classification", num_classes=3, head={"units": 4}),
    ]
    count = STEPS * GLOBAL_BATCH
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (count,) + SHAPE).astype("float32")
    y = {
        "digit": rng.integers(0, 5, count),
        "ink": rng.normal(size=(count, 2)).astype("float32"),
        "size": rng.integers(0, 3, count),
    }

    def global_batches():
        """The dataset of global batches, sharded by DATA: each worker takes
        its part of every global batch."""
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        dataset = dataset.batch(GLOBAL_BATCH)
        options = tf.data.Options()
        policy = tf.data.experimental.AutoShardPolicy.DATA
        options.experimental_distribute.auto_shard_policy = policy
        return dataset.with_options(options)

    def per_worker(context):
        """Each input pipeline reads every k-th sample and batches them by
        the per-replica batch size: the replicas' batches of a step make up
        the same global batch."""
        batch = context.get_per_replica_batch_size(GLOBAL_BATCH)
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        dataset = dataset.shard(
            context.num_input_pipelines, context.input_pipeline_id
        )
        return dataset.batch(batch)

    def train(method, feed, head_optimizer=False):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = mtlzoo.build("tiny", tasks, SHAPE, batch_norm="frozen")
            head_optimizers = None
            if head_optimizer:
                head = keras.optimizers.SGD(0.1, momentum=0.9)
                head_optimizers = {"digit": head}
            model.compile(
                optimizer=keras.optimizers.SGD(0.05),
                weighting=mtlzoo.weighting.get(method, **options[method]),
                head_optimizers=head_optimizers,
            )
        before = model.get_weights()
        model.fit(feed, epochs=1, steps_per_epoch=STEPS, verbose=0)
        return model, before

    options = {"equal": {}, "pcgrad": {"seed": 1}}
    out = {}
    model, before = train("equal", global_batches())
    out["equal_eval_loss"] = np.float64(
        model.evaluate(global_batches(), verbose=0, return_dict=True)["loss"]
    )
    if args.save and args.index == 0:  # the chief
        model.save(os.path.join(args.save, "model.keras"))
    elif args.save:
        with tempfile.TemporaryDirectory() as where:
            model.save(os.path.join(where, "model.keras"))
    for name, weights in (("equal", model.get_weights()), ("start", before)):
        for i, w in enumerate(weights):
            out[f"{name}/{i}"] = w
    feed = strategy.distribute_datasets_from_function(per_worker)
    model, _ = train("pcgrad", feed, head_optimizer=True)
    for i, w in enumerate(model.get_weights()):
        out[f"pcgrad/{i}"] = w
    np.savez(args.out, **out)
    print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
