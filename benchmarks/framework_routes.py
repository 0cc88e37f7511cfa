"""Each framework's route from a spectroprep dataset into training, side by side in one
run: TensorFlow's tf.data (``spectroprep.tensorflow.batches_dataset``, and the
``from_generator`` recipe users write by hand), Keras ``model.fit`` on its TensorFlow
backend (from that pipeline and from ``spectroprep.keras.PyDataset`` with 1 or 2
workers), and a torch DataLoader over ``BatchDataset``, each against a plain
``ds.batches`` loop in the same environment.

TensorFlow pins an older h5py, so its routes run in .venv-tf (``make install-tf``) and
the torch routes in this interpreter's environment. Every case is a process of its own
(a TensorFlow pipeline left in a process slows whatever runs after it), visited once
per round in a rotated order; each reads one epoch to warm up, then ``--epochs`` timed
ones. Reads benchmarks/subsets.py's dataset (2,381 examples of 257 x 101 float32 in 5
shards), page cache warm.

Usage: python benchmarks/framework_routes.py WORKDIR [--quick] [--tf-python PATH];
prints markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BATCH = 64
TF_PYTHON = HERE.parent / ".venv-tf" / "bin" / "python"

# name: (environment, what it measures)
CASES = {
    "plain": ("torch", "`for x, y in ds.batches(64)`"),
    "torch-0": ("torch", "torch `DataLoader(BatchDataset)`, 0 workers"),
    "torch-2": ("torch", "torch `DataLoader(BatchDataset)`, 2 persistent workers"),
    "tf-plain": ("tf", "`for x, y in ds.batches(64)`"),
    "tf-data": ("tf", "`batches_dataset(...)` (spectroprep.tensorflow)"),
    "tf-data-1": ("tf", "`batches_dataset(..., parallel=1)`"),
    "tf-generator": ("tf", "`from_generator(ds.batches).prefetch()`, by hand"),
    "fit-ram": ("tf", "`model.fit` on one batch held in RAM (the model's own cost)"),
    "fit-tf-data": ("tf", "`model.fit(batches_dataset(...))`"),
    "fit-pydataset-1": ("tf", "`model.fit(PyDataset(...))`, 1 worker"),
    "fit-pydataset-2t": ("tf", "`model.fit(PyDataset(..., workers=2))`, threads"),
    "fit-pydataset-2p": ("tf", "`model.fit(PyDataset(..., workers=2, use_multiprocessing=True))`"),
}


# ---------------------------------------------------------------- one case, in its process


def _timed_epochs(run_epoch, epochs: int) -> float:
    """Examples/s over ``epochs`` epochs after one untimed one."""
    run_epoch(0)
    start, count = time.perf_counter(), 0
    for epoch in range(1, epochs + 1):
        count += run_epoch(epoch)
    return count / (time.perf_counter() - start)


def _torch_case(name: str, path: Path, epochs: int) -> float:
    import spectroprep

    if name == "plain":
        ds = spectroprep.open_dataset(path)
        return _timed_epochs(
            lambda e: sum(len(x) for x, _ in ds.batches(BATCH, seed=0, epoch=e)), epochs
        )
    from torch.utils.data import DataLoader

    from spectroprep.torch import BatchDataset

    workers = int(name.split("-")[1])
    batches = BatchDataset(path, batch_size=BATCH, seed=0)
    loader = DataLoader(
        batches, batch_size=None, num_workers=workers, persistent_workers=workers > 0
    )

    def epoch(e: int) -> int:
        batches.set_epoch(e)
        return sum(len(x) for x, _ in loader)

    return _timed_epochs(epoch, epochs)


def _tf_case(name: str, path: Path, epochs: int) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    import spectroprep
    from spectroprep.tensorflow import batches_dataset

    ds = spectroprep.open_dataset(path)
    if name == "tf-plain":
        return _timed_epochs(
            lambda e: sum(len(x) for x, _ in ds.batches(BATCH, seed=0, epoch=e)), epochs
        )
    if name.startswith("tf-"):
        if name == "tf-generator":
            x0, y0 = ds.get_batch(np.arange(BATCH))
            signature = (
                tf.TensorSpec((None, *x0.shape[1:]), tf.float32),
                tf.TensorSpec((None,), tf.as_dtype(y0.dtype)),
            )

            def pipeline_of(e: int) -> tf.data.Dataset:
                return tf.data.Dataset.from_generator(
                    lambda: ds.batches(BATCH, seed=0, epoch=e), output_signature=signature
                ).prefetch(tf.data.AUTOTUNE)

            return _timed_epochs(lambda e: sum(int(x.shape[0]) for x, _ in pipeline_of(e)), epochs)
        parallel = 1 if name == "tf-data-1" else tf.data.AUTOTUNE
        pipeline = batches_dataset(path, BATCH, seed=0, parallel=parallel)
        return _timed_epochs(lambda e: sum(int(x.shape[0]) for x, _ in pipeline), epochs)
    return _fit_case(name, path, ds, epochs)


def _fit_case(name: str, path: Path, ds, epochs: int) -> float:
    import keras
    import tensorflow as tf

    from spectroprep.keras import PyDataset
    from spectroprep.tensorflow import batches_dataset

    x0, y0 = ds.get_batch(np.arange(BATCH))
    steps = -(-len(ds) // BATCH)
    if name == "fit-ram":
        data = tf.data.Dataset.from_tensors((x0, y0)).repeat(steps)
    elif name == "fit-tf-data":
        data = batches_dataset(path, BATCH, seed=0)
    else:
        workers = int(name[-2]) if name[-1] in "tp" else 1
        data = PyDataset(
            path, BATCH, seed=0, workers=workers, use_multiprocessing=name.endswith("p")
        )
    model = keras.Sequential(
        [keras.Input(x0.shape[1:]), keras.layers.Flatten(), keras.layers.Dense(len(ds.classes))]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data, epochs=1, verbose=0, shuffle=False)  # traces the step, starts workers
    start = time.perf_counter()
    model.fit(data, initial_epoch=1, epochs=1 + epochs, verbose=0, shuffle=False)
    return epochs * len(ds) / (time.perf_counter() - start)


# ---------------------------------------------------------------- the parent


def _measure(
    name: str, path: Path, epochs: int, pythons: dict[str, str], versions: dict[str, str]
) -> float | None:
    python = pythons.get(CASES[name][0])
    if python is None:
        return None
    out = subprocess.run(
        [python, __file__, "--case", name, "--epochs", str(epochs), str(path)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"case {name} failed:\n{out.stderr[-3000:]}")
    rate, version = out.stdout.split()[-2:]
    versions[CASES[name][0]] = version
    return float(rate)


def table(path: Path, rounds: int, epochs: int, pythons: dict[str, str]) -> list[str]:
    names = list(CASES)
    rates: dict[str, list[float]] = {name: [] for name in names}
    versions: dict[str, str] = {}  # h5py's, by environment
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            rate = _measure(name, path, epochs, pythons, versions)
            if rate is not None:
                rates[name].append(rate)
            print(f"round {r}: {name} {rate}", file=sys.stderr, flush=True)
    median = {name: statistics.median(v) for name, v in rates.items() if v}
    lines = [
        "| environment | route | examples/s | / plain loop, same environment |",
        "|---|---|---:|---:|",
    ]
    for name, (env, what) in CASES.items():
        where = "main, torch" if env == "torch" else ".venv-tf"
        label = f"{where} (h5py {versions.get(env, '?')})"
        if name not in median:
            lines.append(f"| {label} | {what} | not measured: `make install-tf` | |")
            continue
        base = median["plain" if env == "torch" else "tf-plain"]
        lines.append(f"| {label} | {what} | {median[name]:,.0f} | {median[name] / base:.2f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="WORKDIR, or the dataset with --case")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tf-python", default=str(TF_PYTHON))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        import h5py

        case = _tf_case if CASES[args.case][0] == "tf" else _torch_case
        print(case(args.case, args.path, args.epochs), h5py.__version__)
        return 0
    sys.path.insert(0, str(HERE))
    from subsets import dataset

    path, made = dataset(args.path, 60 if args.quick else 600)
    pythons = {"torch": sys.executable}
    if Path(args.tf_python).is_file():
        pythons["tf"] = args.tf_python
    rounds, epochs = (1, 1) if args.quick else (3, args.epochs)
    print("## Framework routes (benchmarks/framework_routes.py)\n")
    print(
        f"benchmarks/subsets.py's dataset ({made}), batches of {BATCH}, page cache warm; "
        f"each case a process of its own, {epochs} timed epochs after one warm-up, median "
        f"of {rounds} interleaved rounds. The Keras rows train a one-layer model, whose "
        "own cost the RAM row shows.\n"
    )
    print("\n".join(table(path, rounds, epochs, pythons)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
