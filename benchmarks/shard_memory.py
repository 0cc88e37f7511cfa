"""Peak memory of ``spectroprep shard`` against a naive in-memory reshuffle, side by side.

Method. A labelled corpus (4 class folders of 16 kHz mono WAV, 20 s files of tones
plus noise) is built with ``spectroprep.build`` into two source datasets of 1x and
4x one-second examples (default 1,000 and 4,000 examples of 257x101 float32, ~104 KB
each: ~104 MB and ~415 MB) in HDF5 shards of 512 examples. Then, for each size,
each on a fresh output folder:

* ``shutil.copytree`` of the source, in this process: the plain I/O ceiling;
* a naive script, as a subprocess: ``open_dataset(SRC).get_batch(every index)``, a
  numpy permutation, one HDF5 file written with h5py (chunks (1, F, T), no compression);
* ``python -m spectroprep shard SRC --out DST -q -j 2`` as a subprocess: a global
  shuffle into 64-example shards, a conversion to npy, a stratified split into
  64-example shards and, when hdf5plugin imports, float16 + blosc2-lz4.

While a subprocess runs, the RSS (VmRSS) of its whole process tree -- it and every
descendant, found through /proc/<pid>/task/<tid>/children -- is sampled every 20 ms;
the table gives the peak of the largest single process and of the tree's sum. The
claim under test: shard holds one output file per worker, so its peak does not grow
with the source, while the naive script's does. Wall time includes the interpreter's
start-up (measured on its own as ``-m spectroprep --help``); MB/s is the source's
data-file bytes (MB = 10^6 bytes) over wall seconds. The page cache is warm throughout.

Usage (from the repository root)::

    .venv/bin/python benchmarks/shard_memory.py [WORKDIR] [--small N] [--quick] [--keep]

WORKDIR defaults to ``bench-work/shard`` (git-ignored). Results go to stdout as markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import soundfile as sf

try:
    import hdf5plugin
except ImportError:
    hdf5plugin = None

RATE = 16000
SECONDS = 20  # per corpus file: 20 one-second examples
CLASSES = ("low", "mid", "high", "top")
INTERVAL = 0.02  # seconds between RSS samples
PY = sys.executable
OPS: list[tuple[str, list[str]]] = [
    ("shard: shuffle, 64-ex shards", ["--shuffle", "--seed", "1", "--shard-size", "64"]),
    ("shard: convert to npy", ["--format", "npy"]),
    (
        "shard: stratified split 0.8/0.1/0.1, shuffle, 64-ex shards",
        ["--split", "train=0.8,val=0.1,test=0.1", "--stratify", "--shuffle", "--shard-size", "64"],
    ),
    (
        "shard: float16 + blosc2-lz4, 64-ex shards",
        ["--dtype", "float16", "--compression", "blosc2-lz4", "--shard-size", "64"],
    ),
]
NAIVE = """
import sys, h5py, numpy as np, spectroprep
with spectroprep.open_dataset(sys.argv[1]) as ds:
    x, y = ds.get_batch(np.arange(len(ds)))
perm = np.random.default_rng(1).permutation(len(x))
x, y = x[perm], y[perm]
with h5py.File(sys.argv[2], "w") as f:
    f.create_dataset("features", data=x, chunks=(1, *x.shape[1:]))
    f.create_dataset("labels", data=y)
"""


def make_corpus(folder: Path, files: int, seed: int = 0) -> None:
    """``files`` clips of SECONDS s: a class-specific pair of tones plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(SECONDS * RATE) / RATE
    for i in range(files):
        k = i % len(CLASSES)
        f0 = 200 * 2**k * rng.uniform(0.9, 1.1)  # classes an octave apart
        x = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(3 * np.pi * f0 * t + rng.uniform(0, 6.3))
        x += 0.3 * rng.standard_normal(len(t))
        path = folder / CLASSES[k] / f"{CLASSES[k]}-{i // len(CLASSES):04d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.4 * x / np.abs(x).max()).astype(np.float32), RATE, subtype="PCM_16")


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants (those still alive)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                todo += map(int, Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:  # gone meanwhile
            pass
    return pids


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6  # kB -> MB
    except OSError:
        pass
    return 0.0


@dataclass
class Run:
    wall: float
    peak_one: float = float("nan")  # MB, largest single process
    peak_tree: float = float("nan")  # MB, summed over the tree
    error: str | None = None


def run_sampled(cmd: list[str]) -> Run:
    """Run ``cmd``, sampling its process tree's RSS every INTERVAL s."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        one = tree = 0.0
        while proc.poll() is None:
            rss = [rss_mb(pid) for pid in tree_pids(proc.pid)]
            one, tree = max(one, *rss), max(tree, sum(rss))
            time.sleep(INTERVAL)
        run = Run(time.perf_counter() - t0, one, tree)
        if proc.returncode:
            err.seek(0)
            run.error = f"exit {proc.returncode}: {err.read().decode()[-2000:]}"
    return run


def written_examples(dst: Path) -> int:
    return sum(json.loads(p.read_text())["counts"]["examples"] for p in dst.rglob("dataset.json"))


def machine_lines() -> list[str]:
    import spectroprep

    def git(*words: str) -> str:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", *words], capture_output=True, text=True, cwd=here).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "?"
    dirty = (
        ", spectroprep/ with uncommitted changes"
        if git("status", "-s", "--", "../spectroprep")
        else ""
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    plugin = hdf5plugin.version if hdf5plugin else "absent"
    return [
        f"- cores: os.cpu_count() = {os.cpu_count()}, usable = {len(os.sched_getaffinity(0))};"
        f" memory {mem:.1f} GiB",
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- numpy {np.__version__}, h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}),"
        f" hdf5plugin {plugin}",
        f"- spectroprep {spectroprep.__version__} (git {commit}{dirty})",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", nargs="?", default="bench-work/shard", help="scratch folder")
    ap.add_argument("--small", type=int, default=1000, help="examples at 1x (default 1000)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 320 and 1,280 examples")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    small = 320 if args.quick else args.small
    import spectroprep

    work = Path(args.workdir)
    if work.exists() and any(work.iterdir()):
        sys.exit(f"{work}: not empty; give an empty or new work folder")
    ops = OPS if hdf5plugin else OPS[:3]
    t_start = time.perf_counter()
    print("# spectroprep shard: peak memory against the source size\n\nMachine:")
    print("\n".join(machine_lines()))
    start = run_sampled([PY, "-m", "spectroprep", "--help"])
    print(
        f"\nCommand: `{' '.join([Path(PY).name, *sys.argv])}`. Interpreter start-up + import "
        f"(`-m spectroprep --help`): {start.wall:.2f} s, peak RSS {start.peak_tree:.0f} MB "
        f"(included in every subprocess's wall s).",
        flush=True,
    )
    if len(ops) < len(OPS):
        print("hdf5plugin does not import: the float16 + blosc2-lz4 operation is skipped.")

    runs = [("naive reshuffle (get_batch all + permute + h5py)", None), *ops]
    rows: list[tuple[str, str, Run, int, float]] = []  # size, op, run, examples, MB
    peaks: dict[tuple[str, int], Run] = {}
    copy_rate: dict[int, float] = {}
    for scale in (1, 4):
        files = -(-small * scale // SECONDS)
        corpus, src = work / f"corpus-{scale}x", work / f"src-{scale}x"
        make_corpus(corpus, files)
        t0 = time.perf_counter()
        spectroprep.build(
            corpus, src, labels_from_folders=True, jobs=2, overrides=["storage.shard_examples=512"]
        )
        info = json.loads((src / "dataset.json").read_text())
        example_mb = np.prod(info["features"]["shape"]) * 4 / 1e6
        block = info["config"]["storage"]["block_size"]
        n, mb = info["counts"]["examples"], sum(f["bytes"] for f in info["files"]) / 1e6
        size = f"{scale}x: {n:,} ex, {mb:.0f} MB"
        print(f"{size}: {files} files synthesised and built in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        shutil.copytree(src, work / "copy")
        copy = Run(time.perf_counter() - t0)
        shutil.rmtree(work / "copy")
        copy_rate[scale] = mb / copy.wall
        rows.append((size, "copytree (I/O ceiling, in-process)", copy, n, mb))
        for label, options in runs:
            dst = work / "out" / f"{scale}x-{len(rows)}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if options is None:
                cmd = [PY, "-c", NAIVE, str(src), str(dst) + ".h5"]
            else:
                cmd = [PY, "-m", "spectroprep", "shard", str(src), "--out", str(dst)]
                cmd += ["-q", "-j", "2", *options]
            run = run_sampled(cmd)
            if options is not None and not run.error and written_examples(dst) != n:
                run.error = f"wrote {written_examples(dst)} examples, not {n}"
            print(f"  {size}, {label}: {run.wall:.2f} s", file=sys.stderr, flush=True)
            rows.append((size, label, run, n, mb))
            peaks[label, scale] = run
            if not args.keep:
                shutil.rmtree(dst, ignore_errors=True)
                Path(str(dst) + ".h5").unlink(missing_ok=True)

    print(
        "\n| size (examples, SRC MB) | operation | wall s | examples/s | MB/s | × copytree speed"
        " | peak RSS largest process MB | peak tree RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size, label, run, n, mb in rows:
        if run.error:
            print(f"| {size} | {label} | ERROR (see below) | | | | | |")
            continue
        scale = int(size[0])
        one = "–" if np.isnan(run.peak_one) else f"{run.peak_one:,.0f}"
        tree = "–" if np.isnan(run.peak_tree) else f"{run.peak_tree:,.0f}"
        print(
            f"| {size} | {label} | {run.wall:.2f} | {n / run.wall:,.0f} | {mb / run.wall:,.0f} "
            f"| {mb / run.wall / copy_rate[scale]:.2f} | {one} | {tree} |"
        )
    print(
        f"\nMemory bound of a 64-example-shard operation: 2 workers × 64 × {example_mb:.3f} MB "
        f"= {2 * 64 * example_mb:.0f} MB of example data (npy: the source's {block}-example "
        f"blocks, {2 * block * example_mb:.0f} MB), plus each process's interpreter. "
        f"RSS sampled every {INTERVAL * 1000:.0f} ms."
    )
    ratios = [
        f"{label}: tree {peaks[label, 4].peak_tree / peaks[label, 1].peak_tree:.2f}, "
        f"largest {peaks[label, 4].peak_one / peaks[label, 1].peak_one:.2f}"
        for label, _ in runs
        if not (peaks[label, 1].error or peaks[label, 4].error)
    ]
    print("Peak RSS at 4x / 1x: " + "; ".join(ratios))
    print(f"Whole run: {time.perf_counter() - t_start:.0f} s.")
    errors = [(size, label, run) for size, label, run, _, _ in rows if run.error]
    for size, label, run in errors:
        print(f"\n## Error: {size}, {label}\n\n```\n{run.error}\n```")
    if not args.keep:
        shutil.rmtree(work)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
