"""Reading at realistic size: every read route at each dataset size against the same
route at the smallest size, page cache warm and cold, beside one .npy per example; how
well the shuffled epoch mixes sources; open_dataset's time and the open file descriptors.

One synthetic corpus (500 WAV files of 10 s, 16 kHz, in 4 class folders: 5,000 audio s)
is built once per size with ``--config logmel-16k --set storage.dtype=float16`` (64 x 101
float16 examples of 12.9 kB, shards of up to 512), each size reached by its own
``segment.hop`` (overlapping windows; 10,000 examples at a hop of 0.5 s, 100,000 at 45 ms,
1,029,500 at 4.4 ms for 1,024,000), so every size has the same sources, example shape and
shard size. Each dataset is also written out as one .npy per example (1,000 to a folder).
Both are kept in WORKDIR/cache: a dataset is keyed by the build options and a hash of
spectroprep's code and presets (any change rebuilds it), its .npy copy by the build options
only (its read speed does not depend on spectroprep's code). A new key replaces the
entries of its size.

Routes, examples/s, median of ``--rounds`` rounds that visit every size in turn (the
machine is noisy, so sizes are interleaved), each measurement ``--seconds`` long on a
freshly opened dataset (a fresh DataLoader for torch), batches of 64:

* random single: ``ds[i]`` at random positions;
* random batch: ``ds.get_batch`` of 64 random positions;
* shuffled epoch: ``ds.batches(64, shuffle=True, prefetch=0)``, epoch after epoch;
* sequential: ``ds.batches(64, shuffle=False, prefetch=0)``;
* torch ExampleDataset: ``DataLoader(ExampleDataset(path), batch_sampler=
  ExampleDataset.batch_sampler(64, seed=...), num_workers=2, persistent_workers=True)``;
* torch BatchDataset: ``DataLoader(BatchDataset(path, batch_size=64, seed=...),
  batch_size=None, num_workers=2, persistent_workers=True)``;
* one .npy per example: np.load of random files; of 64 random files and np.stack; of every
  file in a random order, 64 at a time.

Each measurement opens the route (a fresh dataset; for torch a fresh DataLoader), reads
untimed for its first step and 0.2 s more (0.5 s for torch: new workers start slowly),
then times a new stream of the same route's reads on the same open dataset or workers
(new random positions; a new epoch), which starts with nothing read ahead. Warm: the
files were read through once before (mincore says how much of them stays resident).
Cold: between the two, ``posix_fadvise(POSIX_FADV_DONTNEED)`` on every file of the
dataset (or of the .npy copy), after an ``os.sync`` (it drops clean pages only; mincore
checks that none stayed), and the timing stops after a quarter of the examples if that
comes first (so that few reads find pages an earlier one brought in): the rate of reads
from disk of a dataset in use, as one larger than the memory is read; the open table gives
a cold start's figures.

Also, per size: the mean number of distinct sources (manifest.csv's ``source``) and of
distinct shards per batch of 64 of a shuffled epoch (``ds.epoch_order``, the order
``ds.batches`` reads), against ``np.random.permutation`` of the same examples; and, in a
fresh interpreter, ``open_dataset``'s wall time (page cache warm, and cold), the first
``ds[i]`` after it, and the open file descriptors (/proc/self/fd) after ``--seconds`` of
random reads (half single, half batches of 64).

Usage: python benchmarks/read_scale.py WORKDIR [--sizes 10000,100000] [--seconds S]
    [--rounds R] [--cold-rounds R] [--json OUT.json] [--markdown OUT.md] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib.util
import inspect
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_throughput import RATE, machine_facts, make_corpus, synth_clip  # noqa: E402

from spectroprep.bench.cache import advise, resident  # noqa: E402

if TYPE_CHECKING:
    from spectroprep import Dataset

BATCH = 64
WORKERS = 2
WARM_S, TORCH_WARM_S = 0.2, 0.5  # untimed reads after a measurement's first step (warm_up_s)
CLIP_S = 10.0
FILES, QUICK_FILES = 500, 40
BUILD_OPTIONS = (
    "--labels-from-folders",
    "--config",
    "logmel-16k",
    "--set",
    "storage.dtype=float16",
)
FLOOR = "bare preadv (floor)"
SPECTROPREP_ROUTES = ("random single", "random batch", "shuffled epoch", "sequential", FLOOR)
TORCH_ROUTES = ("torch ExampleDataset", "torch BatchDataset")
NPY_ROUTES = ("random single", "random batch", "shuffled epoch")
NPY_PER_FOLDER = 1000  # one folder of a million files would make every lookup slow
Steps = Generator[int, None, None]  # examples read per step, endlessly

OPEN_PROBE = """
import json, os, sys, time
import numpy as np
from spectroprep import open_dataset  # imports the reader: not open_dataset's time

def fds():
    return len(os.listdir("/proc/self/fd"))

path, seed, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
before = fds()
start = time.perf_counter()
ds = open_dataset(path)
opened = time.perf_counter() - start
rng = np.random.default_rng(seed)
n = len(ds)
start = time.perf_counter()
ds[int(rng.integers(n))]
first = time.perf_counter() - start
read = []
end = time.perf_counter() + seconds / 2
while time.perf_counter() < end:
    for i in rng.integers(0, n, 64).tolist():
        ds[i]
        read.append(i)
end = time.perf_counter() + seconds / 2
while time.perf_counter() < end:
    batch = rng.integers(0, n, 64)
    ds.get_batch(batch)
    read.extend(batch.tolist())
starts = np.cumsum([f.examples for f in ds.files])
touched = len(np.unique(np.searchsorted(starts, read, side="right")))
print(json.dumps({"open_s": opened, "first_read_s": first, "fds_before": before,
                  "fds_after": fds(), "reads": len(read), "shards_touched": touched}))
"""


@dataclass
class Size:
    """One dataset size: its dataset, its .npy copy, and what building them took."""

    target: int
    label: str
    hop: int  # samples
    path: Path
    npy: Path
    examples: int
    shards: int
    bytes: int
    npy_bytes: int
    build: dict[str, Any]
    npy_write: dict[str, Any]

    def dataset_files(self) -> list[str]:
        return sorted(str(p) for p in self.path.rglob("*") if p.is_file())

    def npy_files(self) -> list[str]:
        return [npy_path(self.npy, i) for i in range(self.examples)]


# ---------------------------------------------------------------- cache


def size_label(n: int) -> str:
    """10000 -> "10k", 1024000 -> "1.02M": three significant digits."""
    for unit, scale in (("M", 10**6), ("k", 10**3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def digest(*parts: object) -> str:
    """A short hash of ``parts`` (their repr), for cache folder names."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def code_digest() -> str:
    """A hash of every spectroprep/**/*.py file and preset: any change rebuilds the datasets."""
    import spectroprep
    from spectroprep.config import presets_dir

    package = Path(spectroprep.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *presets_dir().glob("*.toml")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def code_facts() -> dict[str, str]:
    """Where spectroprep was imported from and the hash of its code: the git line of the
    machine facts names the checkout's commit, which need not be the code that ran."""
    import spectroprep

    return {"path": str(Path(spectroprep.__file__).resolve().parent), "digest": code_digest()}


def replace_entries(cache: Path, prefix: str) -> None:
    """Remove the cache entries (folder and marker) named ``prefix*``: a stale key's."""
    for entry in cache.glob(f"{prefix}*"):
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def cached(cache: Path, name: str, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """The marker of cache entry ``name`` (a folder), running ``make(folder)`` first when
    the entry is missing or unfinished; the marker records ``make``'s wall seconds."""
    marker = cache / f"{name}.json"
    if marker.is_file():
        return {**json.loads(marker.read_text()), "reused": True}
    replace_entries(cache, name.rsplit("-", 1)[0] + "-")
    folder = cache / name
    folder.mkdir(parents=True)
    start = time.perf_counter()
    info = make(folder)
    info["seconds"] = time.perf_counter() - start
    marker.write_text(json.dumps(info))  # written last: an interrupted entry is redone
    return {**info, "reused": False}


def corpus(cache: Path, files: int) -> tuple[Path, str, dict[str, Any]]:
    """The synthetic corpus (``files`` WAV clips of CLIP_S s): its folder, key and marker."""
    key = digest(files, CLIP_S, inspect.getsource(make_corpus), inspect.getsource(synth_clip))
    name = f"corpus-{files}-{key}"

    def write(folder: Path) -> dict[str, Any]:
        make_corpus(folder / "audio", files, CLIP_S, flac=False)
        return {}

    return cache / name / "audio", key, cached(cache, name, write)


def hop_for(target: int, clip_samples: int, files: int) -> int:
    """The largest hop (samples) that cuts at least ``target`` 1 s windows from the corpus:
    its window count only falls as the hop grows."""
    from spectroprep.ingest.segments import count_windows

    def total(hop: int) -> int:
        return files * count_windows(clip_samples, RATE, hop, "zero")

    lo, hi = 1, clip_samples
    if total(lo) < target:
        raise SystemExit(f"the corpus gives at most {total(lo):,} examples, not {target:,}")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if total(mid) >= target else (lo, mid - 1)
    return lo


def build_options(hop: int) -> list[str]:
    """The build's options for a hop of ``hop`` samples (--set takes seconds)."""
    return [*BUILD_OPTIONS, "--set", f"segment.hop={hop / RATE!r}"]


def build_dataset(audio: Path, out: Path, hop: int) -> dict[str, Any]:
    """``spectroprep build`` with 2 jobs, in a fresh interpreter, as a user runs it."""
    cmd = [sys.executable, "-m", "spectroprep", "build", str(audio), "--out", str(out)]
    # its stdout to our stderr: ours is the markdown
    subprocess.run([*cmd, *build_options(hop), "--jobs", "2", "-q"], check=True, stdout=sys.stderr)
    return {"command": "spectroprep build AUDIO --out OUT " + " ".join(build_options(hop))}


def npy_path(folder: Path, i: int) -> str:
    """Example ``i``'s file in the .npy copy (a str: np.load is called a million times)."""
    return f"{folder}/{i // NPY_PER_FOLDER:04d}/{i:07d}.npy"


def write_npy(dataset: Path, folder: Path) -> dict[str, Any]:
    """Every example of ``dataset`` as its own .npy file, in file order."""
    from spectroprep import open_dataset

    with open_dataset(dataset) as ds:
        for lo in range(0, len(ds), 4096):
            x = ds.get_batch(np.arange(lo, min(lo + 4096, len(ds))))[0]
            for i, example in enumerate(x, start=lo):
                if i % NPY_PER_FOLDER == 0:
                    Path(npy_path(folder, i)).parent.mkdir()
                np.save(npy_path(folder, i), example)
    return {}


def prepare(cache: Path, audio: Path, corpus_key: str, target: int) -> Size:
    """The dataset of ``target`` examples and its .npy copy, built or reused."""
    from spectroprep import open_dataset

    clip_samples = sf.info(next(audio.rglob("*.wav"))).frames
    files = sum(1 for _ in audio.rglob("*.wav"))
    hop = hop_for(target, clip_samples, files)
    key = digest(corpus_key, build_options(hop))
    name = f"dataset-{target}-{digest(key, code_digest())}"
    build = cached(cache, name, lambda out: build_dataset(audio, out, hop))
    npy_name = f"npy-{target}-{key}"
    npy_write = cached(cache, npy_name, lambda out: write_npy(cache / name, out))
    with open_dataset(cache / name) as ds:
        examples, shards = len(ds), len(ds.files)
        npy_bytes = os.path.getsize(npy_path(cache / npy_name, 0)) * examples
    size = sum(p.stat().st_size for p in (cache / name).rglob("*") if p.is_file())
    return Size(
        target,
        size_label(target),
        hop,
        cache / name,
        cache / npy_name,
        examples,
        shards,
        size,
        npy_bytes,
        build,
        npy_write,
    )


# ---------------------------------------------------------------- page cache


def warm(paths: Sequence[str]) -> None:
    """Bring every byte of ``paths`` into the page cache: first ask for all of them
    (POSIX_FADV_WILLNEED starts the reads without waiting for them: 3 times faster for
    100,000 small files than reading them one by one), then read each through."""
    advise(paths, os.POSIX_FADV_WILLNEED)
    buffer = bytearray(1 << 20)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass


def evict(paths: Sequence[str]) -> None:
    """Drop the pages of ``paths`` from the page cache. DONTNEED drops clean pages only,
    hence the sync first; it needs no privileges, unlike drop_caches."""
    os.sync()
    advise(paths, os.POSIX_FADV_DONTNEED)


def evict_checked(paths: Sequence[str], left: list[float]) -> None:
    """Evict ``paths``, then note the fraction of their pages still resident in ``left``."""
    evict(paths)
    left.append(resident(paths))


# ---------------------------------------------------------------- reads


def dataset_steps(ds: Dataset, route: str, seed: int) -> Steps:
    """Endless reads of one in-process route on an open dataset, random positions (and the
    shuffle) seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    n = len(ds)
    for epoch in itertools.count():
        if route == "random single":
            for i in rng.integers(0, n, 256).tolist():
                ds[i]
                yield 1
        elif route == "random batch":
            yield len(ds.get_batch(rng.integers(0, n, BATCH))[0])
        elif route == FLOOR:
            yield from bare_reads(ds, rng)
        else:
            shuffle = route == "shuffled epoch"
            for x, _ in ds.batches(BATCH, shuffle=shuffle, seed=seed, epoch=epoch, prefetch=0):
                yield len(x)


def bare_reads(ds: Dataset, rng: np.random.Generator) -> Steps:
    """Rows at random positions read with one ``os.preadv`` each in a bare loop, every
    shard open, offsets from the shards' own index: the machine's floor under the random
    routes (what a read costs before any work of the reader's)."""
    from spectroprep.dataset.storage.hdf5_index import read_index

    fds = [os.open(ds.path / f.path, os.O_RDONLY) for f in ds.files]
    try:
        found = [read_index(fd, "") for fd in fds]
        where = [index.arrays["features"] for index in found if index is not None]
        if len(where) != len(fds):
            raise SystemExit(f"{ds.path}: shards without an index of row offsets")
        starts = np.r_[0, np.cumsum([f.examples for f in ds.files])]
        row = memoryview(bytearray(where[0].row_bytes))
        while True:
            positions = rng.integers(0, starts[-1], 256)
            files = np.searchsorted(starts, positions, side="right") - 1
            rows = (positions - starts[files]).tolist()
            for file, r in zip(files.tolist(), rows, strict=True):
                a = where[file]
                chunk, within = divmod(r, a.chunk_rows)
                os.preadv(fds[file], [row], int(a.offsets[chunk]) + within * a.row_bytes)
                yield 1
    finally:
        for fd in fds:
            os.close(fd)


def torch_loader(path: Path, route: str, seed: int) -> tuple[Any, Any]:
    """A DataLoader with 2 persistent workers over one torch adapter, and what takes its
    ``set_epoch``. Persistent, so that a new stream of reads is a new epoch on the same
    workers, not their start-up (BatchDataset's workers then keep the shuffle of the epoch
    they started with)."""
    from torch.utils.data import DataLoader

    from spectroprep.torch import BatchDataset, ExampleDataset

    if route == "torch ExampleDataset":
        examples = ExampleDataset(path)
        epochs = examples.batch_sampler(BATCH, seed=seed)
        loader = DataLoader(
            examples, batch_sampler=epochs, num_workers=WORKERS, persistent_workers=True
        )
        return loader, epochs
    batches = BatchDataset(path, batch_size=BATCH, seed=seed)
    return DataLoader(
        batches, batch_size=None, num_workers=WORKERS, persistent_workers=True
    ), batches


def torch_steps(loader: Any, epochs: Any, stream: int) -> Steps:
    """Endless batches of ``loader``, epoch after epoch from epoch ``1000 * stream`` (each
    stream its own epochs); a new stream first drops the batches the last one left."""
    for epoch in itertools.count(1000 * stream):
        epochs.set_epoch(epoch)
        for x, _ in loader:
            yield len(x)


def npy_steps(folder: Path, n: int, route: str, seed: int) -> Steps:
    """Endless np.load reads of the one-.npy-per-example copy."""
    rng = np.random.default_rng(seed)
    while True:
        if route == "random single":
            for i in rng.integers(0, n, 256).tolist():
                np.load(npy_path(folder, i))
                yield 1
        elif route == "random batch":
            picks = rng.integers(0, n, BATCH).tolist()
            yield len(np.stack([np.load(npy_path(folder, i)) for i in picks]))
        else:
            order = rng.permutation(n).tolist()
            for lo in range(0, n, BATCH):
                yield len(np.stack([np.load(npy_path(folder, i)) for i in order[lo : lo + BATCH]]))


@contextlib.contextmanager
def opened(size: Size, store: str, route: str, seed: int) -> Iterator[Callable[[int], Steps]]:
    """``route`` ready to read ``size``'s dataset (store "dataset", freshly opened; for
    torch a fresh DataLoader) or its .npy copy: gives ``streams(k)``, a new stream of the
    route's reads (seeded with k) on the same open dataset or workers, which starts with
    nothing read ahead (``batches`` reads 1,024 examples at a time)."""
    if store == "npy":
        yield functools.partial(npy_steps, size.npy, size.examples, route)
    elif route in TORCH_ROUTES:
        loader, epochs = torch_loader(size.path, route, seed)
        yield functools.partial(torch_steps, loader, epochs)
    else:
        from spectroprep import open_dataset

        with open_dataset(size.path) as ds:
            yield functools.partial(dataset_steps, ds, route)


def warm_up_s(route: str) -> float:
    """Untimed reads before a measurement. A new DataLoader reads at a fraction of its
    steady rate for a few tenths of a second after its first batch (its workers just
    forked: 0.2 s windows then ranged from 4,000 to 25,000 examples/s at 1,000 examples,
    and settled after 0.5 s)."""
    return TORCH_WARM_S if route in TORCH_ROUTES else WARM_S


def warm_up(steps: Steps, seconds: float) -> None:
    """Untimed reads: the first step (opening files, starting workers), then ``seconds``
    more. Closes ``steps``."""
    with contextlib.closing(steps):
        next(steps)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            next(steps)


def rate(steps: Steps, seconds: float, most: int | None = None) -> float:
    """Examples per second of ``steps`` over about ``seconds`` (or ``most`` examples),
    timed from the first step. Closes ``steps``."""
    try:
        count, start = 0, time.perf_counter()
        for got in steps:
            count += got
            if time.perf_counter() - start >= seconds or (most and count >= most):
                break
        return count / (time.perf_counter() - start)
    finally:
        steps.close()  # its dataset or workers stay open for the next stream


def measure(
    size: Size,
    store: str,
    route: str,
    seed: int,
    seconds: float,
    evict: Callable[[], None] | None = None,
) -> float:
    """One measurement: open the route, read for its warm-up (untimed), then time a new
    stream of its reads. With ``evict`` (cold), the store's pages are dropped between the
    two, and at most a quarter of the examples is timed, so that few reads find pages an
    earlier one brought in."""
    with opened(size, store, route, seed) as streams:
        warm_up(streams(2 * seed), warm_up_s(route))
        if evict is None:
            return rate(streams(2 * seed + 1), seconds)
        evict()
        return rate(streams(2 * seed + 1), seconds, size.examples // 4)


def open_probe(path: Path, seed: int, seconds: float) -> dict[str, Any]:
    """open_dataset's time, the first read's, and the open fds after random reads, in a
    fresh interpreter (OPEN_PROBE)."""
    cmd = [sys.executable, "-c", OPEN_PROBE, str(path), str(seed), str(seconds)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def mean_distinct(values: np.ndarray) -> float:
    """Mean number of distinct values per full batch of BATCH consecutive ``values``."""
    rows = np.sort(values[: len(values) // BATCH * BATCH].reshape(-1, BATCH), axis=1)
    return float((1 + (np.diff(rows, axis=1) != 0).sum(axis=1)).mean())


def shuffle_mix(size: Size) -> dict[str, Any]:
    """Distinct sources and shards per batch of 64: the shuffled epoch against a random
    permutation of the same examples."""
    from spectroprep import open_dataset

    with open_dataset(size.path) as ds:
        order = ds.epoch_order(shuffle=True, seed=0)
        first = next(iter(ds.batches(BATCH, seed=0, prefetch=0)))[0]
        same = bool(np.array_equal(first, ds.get_batch(order[:BATCH])[0]))
        start = time.perf_counter()
        source = ds.manifest.source
        manifest_s = time.perf_counter() - start
        starts = np.cumsum([f.examples for f in ds.files])
        shard = np.searchsorted(starts, np.arange(len(ds)), side="right")
    permutation = np.random.default_rng(0).permutation(size.examples)
    shuffled = {
        "sources": mean_distinct(source.codes[order]),
        "shards": mean_distinct(shard[order]),
    }
    random = {
        "sources": mean_distinct(source.codes[permutation]),
        "shards": mean_distinct(shard[permutation]),
    }
    return {
        "first_batch_matches_epoch_order": same,
        "manifest_s": manifest_s,
        "sources": len(source.values),
        "shuffled": shuffled,
        "permutation": random,
        "sources_ratio": shuffled["sources"] / random["sources"],
    }


# ---------------------------------------------------------------- phases


def routes(torch_ok: bool) -> tuple[str, ...]:
    return SPECTROPREP_ROUTES + (TORCH_ROUTES if torch_ok else ())


def measure_warm(
    sizes: list[Size], store: str, names: Sequence[str], args: argparse.Namespace
) -> tuple[dict[str, dict[str, list[float]]], float]:
    """Rates of ``names`` on each size's ``store``, rounds interleaving the sizes, page
    cache warm; and the smallest resident fraction seen before a size's round."""
    rates: dict[str, dict[str, list[float]]] = {s.label: {r: [] for r in names} for s in sizes}
    files = {s.label: s.npy_files() if store == "npy" else s.dataset_files() for s in sizes}
    for size in sorted(sizes, key=lambda s: -s.examples):  # the smallest last: most recent
        warm(files[size.label])
    least = 1.0
    for r in range(args.rounds):
        for size in sizes:
            least = min(least, resident(files[size.label]))
            for route in names:
                got = measure(size, store, route, r, args.seconds)
                rates[size.label][route].append(got)
        print(f"  {store} warm round {r + 1} of {args.rounds}", file=sys.stderr, flush=True)
    return rates, least


def measure_cold(
    sizes: list[Size], torch_ok: bool, args: argparse.Namespace
) -> tuple[dict[str, dict[str, dict[str, list[float]]]], dict[str, list[dict]], float]:
    """Rates of reads from disk (``measure`` with an eviction), for the dataset's routes
    and the .npy copy's; a cold open probe per size and round; the largest resident
    fraction an eviction left."""
    rates: dict[str, dict[str, dict[str, list[float]]]] = {"dataset": {}, "npy": {}}
    probes: dict[str, list[dict]] = {s.label: [] for s in sizes}
    left: list[float] = []
    for r in range(args.cold_rounds):
        for size in sizes:
            files = {"dataset": size.dataset_files(), "npy": size.npy_files()}
            plan = [("dataset", route) for route in routes(torch_ok)]
            plan += [("npy", route) for route in NPY_ROUTES]
            for store, route in plan:
                drop = functools.partial(evict_checked, files[store], left)
                got = measure(size, store, route, r, args.seconds, drop)
                rates[store].setdefault(size.label, {}).setdefault(route, []).append(got)
            evict(files["dataset"])
            probes[size.label].append(open_probe(size.path, r, args.seconds))
        print(f"  cold round {r + 1} of {args.cold_rounds}", file=sys.stderr, flush=True)
    return rates, probes, max(left)


def medians(rates: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {k: {r: statistics.median(v) for r, v in row.items()} for k, row in rates.items()}


def median_probe(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each open probe figure's median over the rounds."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def measure_all(sizes: list[Size], torch_ok: bool, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of the run, phase by phase (warm, .npy warm, opening and shuffle
    mix, cold), and each phase's wall seconds."""
    phases: dict[str, float] = {}
    mark = time.perf_counter()
    warm_rates, warm_resident = measure_warm(sizes, "dataset", routes(torch_ok), args)
    phases["warm"] = time.perf_counter() - mark
    mark = time.perf_counter()
    npy_rates, npy_resident = measure_warm(sizes, "npy", NPY_ROUTES, args)
    phases["npy warm"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for size in sorted(sizes, key=lambda s: -s.examples):  # the .npy copies pushed them out
        warm(size.dataset_files())
    open_warm = {
        s.label: [open_probe(s.path, r, args.seconds) for r in range(args.rounds)] for s in sizes
    }
    mix = {s.label: shuffle_mix(s) for s in sizes}
    phases["open and mix"] = time.perf_counter() - mark
    mark = time.perf_counter()
    cold_rates, open_cold, cold_resident = measure_cold(sizes, torch_ok, args)
    phases["cold"] = time.perf_counter() - mark
    warm_m = medians(warm_rates)
    small = sizes[0].label
    return {
        "rates": {
            "warm": warm_m,
            "cold": medians(cold_rates["dataset"]),
            "npy_warm": medians(npy_rates),
            "npy_cold": medians(cold_rates["npy"]),
        },
        "rounds_raw": {"warm": warm_rates, "npy_warm": npy_rates, "cold": cold_rates},
        "ratios": {
            s.label: {r: warm_m[s.label][r] / warm_m[small][r] for r in routes(torch_ok)}
            for s in sizes[1:]
        },
        "resident": {
            "warm_least": warm_resident,
            "npy_warm_least": npy_resident,
            "cold_most": cold_resident,
        },
        "mix": mix,
        "open": {
            s.label: {
                "warm": median_probe(open_warm[s.label]),
                "cold": median_probe(open_cold[s.label]),
            }
            for s in sizes
        },
        "phases_s": phases,
    }


def size_figures(size: Size) -> dict[str, Any]:
    """A size's facts for the JSON and the report."""
    return {
        "target": size.target,
        "label": size.label,
        "examples": size.examples,
        "shards": size.shards,
        "hop_s": size.hop / RATE,
        "bytes": size.bytes,
        "npy_bytes": size.npy_bytes,
        "build": size.build,
        "npy_write": size.npy_write,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path, help="scratch folder; its cache/ is kept")
    ap.add_argument("--sizes", help="examples per dataset, smallest first (default 10000,100000)")
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="measurements per cell; median")
    ap.add_argument("--cold-rounds", type=int, help="rounds of the cold phase (default --rounds)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--markdown", type=Path, help="write the markdown section here")
    ap.add_argument(
        "--quick", action="store_true", help="smoke test: 40 files, 1,000 and 4,000, 1 short round"
    )
    args = ap.parse_args(argv)
    args.files = QUICK_FILES if args.quick else FILES
    if args.quick:
        args.seconds, args.rounds = 0.2, 1
    if args.cold_rounds is None:
        args.cold_rounds = args.rounds
    sizes = args.sizes or ("1000,4000" if args.quick else "10000,100000")
    args.targets = [int(s) for s in sizes.split(",")]
    if sorted(set(args.targets)) != args.targets or len(
        {size_label(t) for t in args.targets}
    ) != len(args.targets):
        ap.error("--sizes: distinct sizes (to 3 digits), smallest first")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    torch_ok = importlib.util.find_spec("torch") is not None
    if torch_ok:
        import torch  # noqa: F401  (imported once here, not inside a measurement)

    cache = args.workdir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    audio, corpus_key, corpus_info = corpus(cache, args.files)
    sizes = [prepare(cache, audio, corpus_key, t) for t in args.targets]
    prepared = time.perf_counter() - started
    print("  datasets ready", file=sys.stderr, flush=True)
    measured = measure_all(sizes, torch_ok, args)
    measured["phases_s"].update(prepare=prepared, total=time.perf_counter() - started)
    figures = {
        "command": " ".join([Path(sys.argv[0]).name, *(sys.argv[1:] if argv is None else argv)]),
        "corpus": {"files": args.files, "seconds_each": CLIP_S, **corpus_info},
        "sizes": [size_figures(s) for s in sizes],
        "routes": list(routes(torch_ok)),
        "torch": torch_ok,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "cold_rounds": args.cold_rounds,
        "code": code_facts(),
        **measured,
        "load_average": [load_start, os.getloadavg()[0]],
        "machine": machine_facts(),
    }
    text = markdown(figures)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    if args.markdown:
        args.markdown.write_text(text)
    return 0


# ---------------------------------------------------------------- report


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ratio(value: float, goal: float) -> str:
    return f"{value:.2f}" if value >= goal else f"**{value:.2f}**"


def markdown(f: dict[str, Any]) -> str:
    """The "Reading at scale" section: the routes table, the shuffle mix, opening, time."""
    sizes = f["sizes"]
    labels = [s["label"] for s in sizes]
    small = labels[0]
    rates = f["rates"]
    header = [*labels, *(f"{b} / {small}" for b in labels[1:])]
    header += [f"cold {b}" for b in labels]
    header += [f".npy {b}" for b in labels] + [f".npy cold {b}" for b in labels]
    c = f["corpus"]
    built = "; ".join(
        f"{s['label']}: {s['examples']:,} examples (hop {s['hop_s'] * 1000:.4g} ms), "
        f"{s['shards']:,} shards, {s['bytes'] / 1e9:.2f} GB"
        for s in sizes
    )
    lines = [
        "## Reading at scale",
        "",
        f"Command: `python benchmarks/{f['command']}`; 1-minute load average "
        f"{f['load_average'][0]:.2f} at the start, {f['load_average'][1]:.2f} at the end.",
        "",
        *f["machine"],
        f"- spectroprep imported from `{f['code']['path']}`, code digest {f['code']['digest']} "
        "(the datasets' cache key)",
        "",
        f"One corpus of {c['files']} synthetic {c['seconds_each']:g} s WAV files (16 kHz, 4 class "
        "folders) built once per size with `--config logmel-16k --set storage.dtype=float16` "
        f"and its own `segment.hop`: {built}. Examples 64 x 101 float16 (12.9 kB), shards of "
        "up to 512.",
        "",
        f"Examples/s, median of {f['rounds']} rounds of {f['seconds']:g} s that visit the sizes "
        "in turn, batches of 64. Each measurement opens the route (a fresh dataset; for torch "
        f"a fresh DataLoader with 2 workers), reads untimed for its first step and {WARM_S:g} s "
        f"more ({TORCH_WARM_S:g} s for torch), then times a new stream of its reads on the same "
        "open dataset or workers (new random positions; a new epoch, nothing read ahead). "
        f"Warm: page cache warm (at least {f['resident']['warm_least']:.0%} of the dataset's "
        f"pages resident before each round, {f['resident']['npy_warm_least']:.0%} of the .npy "
        "copy's). Cold: between the two, `posix_fadvise(DONTNEED)` on every file of the store "
        f"(at most {f['resident']['cold_most']:.1%} of its pages left resident), and the "
        "timing stops after a quarter of the examples if that comes first; median of "
        f'{f["cold_rounds"]} round(s). Ratios below 0.7 in bold. "{FLOOR}" is no route of '
        "spectroprep's: one `os.preadv` per random row in a bare loop, every shard open, the "
        "floor under the random routes on this machine.",
        "",
        "| route | " + " | ".join(header) + " |",
        "|---|" + "---:|" * len(header),
    ]
    for route in f["routes"]:
        cells = [_rate(rates["warm"][b][route]) for b in labels]
        cells += [_ratio(f["ratios"][b][route], 0.7) for b in labels[1:]]
        cells += [_rate(rates["cold"][b][route]) for b in labels]
        for key in ("npy_warm", "npy_cold"):
            cells += [
                _rate(rates[key][b].get(route)) if route in NPY_ROUTES else "–" for b in labels
            ]
        lines.append(f"| {route} | " + " | ".join(cells) + " |")
    if not f["torch"]:
        lines += ["", "torch is not installed (`make bench-peers`): its routes were skipped."]
    lines += [
        "",
        "Shuffle mix: mean distinct sources (manifest.csv `source`) and shards per batch of 64 "
        "of one shuffled epoch (`ds.epoch_order(seed=0)`, the order `ds.batches(64, seed=0)` "
        "reads), against `np.random.permutation` of the same examples.",
        "",
        "| size | sources | examples per source | shuffled: sources | permutation: sources | "
        "shuffled / permutation | shuffled: shards | permutation: shards |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        m = f["mix"][s["label"]]
        lines.append(
            f"| {s['label']} | {m['sources']:,} | {s['examples'] / m['sources']:,.0f} | "
            f"{m['shuffled']['sources']:.1f} | {m['permutation']['sources']:.1f} | "
            f"{_ratio(m['sources_ratio'], 0.9)} | {m['shuffled']['shards']:.1f} | "
            f"{m['permutation']['shards']:.1f} |"
        )
    mismatched = [b for b in labels if not f["mix"][b]["first_batch_matches_epoch_order"]]
    if mismatched:
        lines += [
            "",
            "**The first batch of `ds.batches` differs from `ds.epoch_order`** at "
            f"{', '.join(mismatched)}: the shuffle mix above is not what it reads.",
        ]
    lines += [
        "",
        "Opening, in a fresh interpreter (median of the rounds): `open_dataset`'s wall time with "
        "the page cache warm and after evicting the dataset, the first `ds[i]` after it, then "
        f"{f['seconds'] / 2:g} s of random `ds[i]` and {f['seconds'] / 2:g} s of random batches "
        "of 64, after which /proc/self/fd is counted (warm run); `ds.manifest` loaded in this "
        "process.",
        "",
        "| size | open_dataset warm ms | open_dataset cold ms | first `ds[i]` warm ms | "
        "first `ds[i]` cold ms | examples read | shards touched | open fds after | "
        "of which the reads' | `ds.manifest` s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        w, k = f["open"][s["label"]]["warm"], f["open"][s["label"]]["cold"]
        lines.append(
            f"| {s['label']} | {w['open_s'] * 1e3:.1f} | {k['open_s'] * 1e3:.1f} | "
            f"{w['first_read_s'] * 1e3:.1f} | {k['first_read_s'] * 1e3:.1f} | {w['reads']:,.0f} | "
            f"{w['shards_touched']:,.0f} of {s['shards']:,} | {w['fds_after']:.0f} | "
            f"{w['fds_after'] - w['fds_before']:.0f} | {f['mix'][s['label']]['manifest_s']:.2f} |"
        )
    lines += ["", phases_line(f), ""]
    return "\n".join(lines)


def phases_line(f: dict[str, Any]) -> str:
    """Where the run's time went, builds and .npy copies included (made now or reused)."""

    def made(info: dict[str, Any]) -> str:
        return f"{'reused, made' if info['reused'] else 'made'} in {info['seconds']:.0f} s"

    c = f["corpus"]
    parts = [f"corpus {made(c)}"]
    for s in f["sizes"]:
        parts.append(f"{s['label']}: dataset {made(s['build'])}, .npy copy {made(s['npy_write'])}")
    p = f["phases_s"]
    return (
        "Time: " + "; ".join(parts) + f". Preparing took {p['prepare']:.0f} s this run; measuring: "
        f"warm {p['warm']:.0f} s, .npy warm {p['npy warm']:.0f} s, open and mix "
        f"{p['open and mix']:.0f} s, cold {p['cold']:.0f} s; total {p['total']:.0f} s."
    )


if __name__ == "__main__":
    raise SystemExit(main())
