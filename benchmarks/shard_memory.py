"""Peak memory of ``spectroprep shard`` against a naive in-memory reshuffle, side by side.

A labelled corpus (4 class folders of 20 s, 16 kHz mono WAV files: tones plus noise) is
built with ``spectroprep.build`` into sources of 1x and 4x one-second examples (default
1,000 and 4,000 of 257x101 float32, ~104 KB each) in 512-example HDF5 shards. For each
size, each on a fresh output: ``shutil.copytree`` of the source (in-process: the plain
I/O ceiling); a naive subprocess that reads every example with ``open_dataset(SRC).
get_batch``, permutes them with numpy and writes one HDF5 file with h5py (chunks
(1, F, T), no compression); ``python -m spectroprep shard`` subprocesses with the
options in OPS (blosc2 only when hdf5plugin imports).

While a subprocess runs, the VmRSS of its process tree (it and every descendant, through
/proc/<pid>/task/<tid>/children) is sampled every 20 ms: the peaks of the largest process
and of the tree's sum (which counts shared pages once per process, and a child between
fork and exec as a copy of its parent). The claim under test: shard holds one output file
per worker, so its peak does not grow with the source; the naive script's does. Wall time
includes interpreter start-up (alone: ``-m spectroprep --help``); the marginal rate,
(4x - 1x examples) / (4x - 1x wall s), leaves it out. MB/s: the source's data-file bytes
(MB = 10^6 bytes) per wall second. The page cache is warm.

Usage (from the repository root; WORKDIR, default ``bench-work/shard``, must be empty or
new, and is removed at the end unless ``--keep``; results go to stdout as markdown)::

    .venv/bin/python benchmarks/shard_memory.py [WORKDIR] [--small N] [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
OPS = [  # options of `spectroprep shard SRC --out DST -q -j2`
    "--shuffle --seed 1 --shard-size 64",
    "--format npy",
    "--split train=0.8,val=0.1,test=0.1 --stratify --shuffle --shard-size 64",
    "--dtype float16 --compression blosc2-lz4 --shard-size 64",
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


def tree_rss(root: int, field: str = "VmRSS") -> list[float]:
    """VmRSS (or another /proc status field in kB, e.g. VmHWM, the peak so far) in MB of
    ``root`` and of each of its descendants still alive."""
    rss, todo = [], [root]
    pattern = re.compile(rf"^{field}:\s+(\d+) kB", re.M)
    while todo:
        pid = todo.pop()
        try:
            found = pattern.search(Path(f"/proc/{pid}/status").read_text())
            rss.append(int(found[1]) * 1024 / 1e6 if found else 0.0)
            for tid in os.listdir(f"/proc/{pid}/task"):
                todo += map(int, Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:  # gone meanwhile
            pass
    return rss


@dataclass
class Run:
    wall: float
    peak_one: float = float("nan")  # MB, largest single process
    peak_tree: float = float("nan")  # MB, summed over the tree
    error: str | None = None


def run_sampled(cmd: list[str], field: str = "VmRSS") -> Run:
    """Run ``cmd``, sampling its process tree's RSS every INTERVAL s (``field="VmHWM"``:
    each process's own peak so far, which catches a peak between samples unless the process
    ends before the next sample)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        one = tree = 0.0
        while proc.poll() is None:
            rss = tree_rss(proc.pid, field) or [0.0]
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
    changed = git("status", "--porcelain", "--", "../spectroprep")
    dirty = " + uncommitted changes to spectroprep/" if changed else ""
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
    ap.add_argument("--quick", action="store_true", help="smoke test: 160 ex, one shard option")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    small = 160 if args.quick else args.small
    import spectroprep

    work = Path(args.workdir)
    if work.exists() and any(work.iterdir()):
        sys.exit(f"{work}: not empty; give an empty or new work folder")
    ops = [op for op in OPS if hdf5plugin or "blosc2" not in op][: 1 if args.quick else None]
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
    if not hdf5plugin:
        print("hdf5plugin does not import: the float16 + blosc2-lz4 operation is skipped.")

    naive = "naive reshuffle (get_batch all, permute, h5py)"
    runs: list[tuple[str, str | None]] = [(naive, None), *((f"shard {op}", op) for op in ops)]
    rows: list[tuple[int, str, str, Run, int, float]] = []  # scale, size, op, run, examples, MB
    copy_rate: dict[int, float] = {}
    for scale in (1, 4):
        t0 = time.perf_counter()
        files = -(-small * scale // SECONDS)
        corpus, src = work / f"corpus-{scale}x", work / f"src-{scale}x"
        make_corpus(corpus, files)
        spectroprep.build(
            corpus, src, labels_from_folders=True, jobs=2, overrides=["storage.shard_examples=512"]
        )
        info = json.loads((src / "dataset.json").read_text())
        bins, frames = info["features"]["shape"]
        example_mb = bins * frames * np.dtype(info["features"]["dtype"]).itemsize / 1e6
        n, mb = info["counts"]["examples"], sum(f["bytes"] for f in info["files"]) / 1e6
        size = f"{scale}x: {n:,} ex, {mb:.0f} MB"
        print(f"{size}: {files} files synthesised and built in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        shutil.copytree(src, work / "copy")
        copy = Run(time.perf_counter() - t0)
        shutil.rmtree(work / "copy")
        copy_rate[scale] = mb / copy.wall
        rows.append((scale, size, "copytree (I/O ceiling, in-process)", copy, n, mb))
        for label, options in runs:
            dst = work / "out" / f"{scale}x-{len(rows)}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if options is None:
                cmd = [PY, "-c", NAIVE, str(src), f"{dst}.h5"]
            else:
                cmd = [PY, "-m", "spectroprep", "shard", str(src), "--out", str(dst), "-q", "-j2"]
                cmd += options.split()
            run = run_sampled(cmd)
            if options is not None and not run.error and written_examples(dst) != n:
                run.error = f"wrote {written_examples(dst)} examples, not {n}"
            print(f"  {size}, {label}: {run.wall:.2f} s", file=sys.stderr, flush=True)
            rows.append((scale, size, label, run, n, mb))
            if not args.keep:
                shutil.rmtree(dst, ignore_errors=True)
                Path(f"{dst}.h5").unlink(missing_ok=True)

    print(
        "\n| size (examples, SRC MB) | operation | wall s | examples/s | MB/s | × copytree speed"
        " | peak RSS largest process MB | peak tree RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for scale, size, label, run, n, mb in rows:
        if run.error:
            print(f"| {size} | {label} | ERROR (see below) | | | | | |")
            continue
        one, tree = ("–" if np.isnan(v) else f"{v:,.0f}" for v in (run.peak_one, run.peak_tree))
        print(
            f"| {size} | {label} | {run.wall:.2f} | {n / run.wall:,.0f} | {mb / run.wall:,.0f} "
            f"| {mb / run.wall / copy_rate[scale]:.3f} | {one} | {tree} |"
        )
    block = info["config"]["storage"]["block_size"]
    print(
        f"\nMemory bound of a 64-example-shard operation: 2 workers × 64 × {example_mb:.3f} MB "
        f"= {2 * 64 * example_mb:.0f} MB of example data (npy: the source's {block}-example "
        f"blocks, {2 * block * example_mb:.0f} MB), plus each process's interpreter. "
        f"RSS sampled every {INTERVAL * 1000:.0f} ms."
    )
    done = {(label, scale): (run, n) for scale, _, label, run, n, _ in rows if not run.error}
    ratios = []
    for label, _ in runs:
        if (label, 1) in done and (label, 4) in done:
            (big, n4), (one_x, n1) = done[label, 4], done[label, 1]
            dt = big.wall - one_x.wall
            rate = f"{(n4 - n1) / dt:,.0f} ex/s" if dt > 0 else "n/a: 4x was not slower"
            ratios.append(
                f"{label}: tree {big.peak_tree / one_x.peak_tree:.2f}, largest process "
                f"{big.peak_one / one_x.peak_one:.2f} (marginal rate {rate})"
            )
    print("Peak RSS at 4x / 1x: " + "; ".join(ratios) + ".")
    print(f"Whole run: {time.perf_counter() - t_start:.0f} s.")
    errors = [(size, label, run) for _, size, label, run, _, _ in rows if run.error]
    for size, label, run in errors:
        print(f"\n## Error: {size}, {label}\n\n```\n{run.error}\n```")
    if not args.keep:
        shutil.rmtree(work)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
