"""Run every benchmark in one go and write benchmarks/RESULTS.md (what ``make bench`` does).

The results open with the issue's targets, each a ratio measured in this run,
then each benchmark's own section: build (against a naive script and Lhotse),
reading (against one .npy per example and the mmap limit), shard memory, and the
feature function against librosa.

Usage: python benchmarks/run_all.py [WORKDIR] [--quick] [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from build_throughput import machine_facts  # noqa: E402


def run(script: str, *args: str) -> tuple[str, float]:
    """Run a benchmark script; its stdout and wall seconds (stderr passes through)."""
    start = time.perf_counter()
    print(f"== {script} {' '.join(args)}", file=sys.stderr, flush=True)
    out = subprocess.run(
        [sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    return out, time.perf_counter() - start


def _met(value: float | None, target: float, at_most: bool = False) -> str:
    if value is None:
        return "not measured"
    ok = value <= target if at_most else value >= target
    return "met" if ok else "**missed**"


def targets(build: dict, read: dict) -> list[str]:
    """The issue's targets as a table: measured ratio, target, met or missed."""
    b, r = build["ratios"], read["ratios"]
    default, half = r["float32, none (default)"], r["float16, none"]
    rss = build["build_rss_mb"]
    singles = build["random_single_reads"]
    rows = [
        ("build: 2 jobs / 1 job", b["jobs2_over_jobs1"], 1.8, False),
        ("build: 2 jobs / naive script (librosa + np.save)", b["jobs2_over_naive"], 10, False),
        ("build: 2 jobs / Lhotse (fastest writer, 2 jobs)", b["jobs2_over_lhotse"], 3, False),
        (
            "random batch of 64 / one .npy per example, float32 uncompressed (the default)",
            default["random_batch_over_npy"],
            3,
            False,
        ),
        (
            "random batch of 64 / one .npy per example, float16",
            half["random_batch_over_npy"],
            3,
            False,
        ),
        ("random single reads / Lhotse's", singles["ratio_over_lhotse"], 3, False),
        (
            "shuffled epoch / sequential (default layout)",
            default["shuffled_over_sequential"],
            0.7,
            False,
        ),
        ("build peak RSS 4x / 1x corpus, largest process", rss["largest_ratio"], 1.1, True),
        ("build peak RSS 4x / 1x corpus, process tree", rss["tree_ratio"], 1.1, True),
    ]
    lines = ["| target | measured | goal | |", "|---|---:|---:|---|"]
    for name, value, goal, at_most in rows:
        shown = "–" if value is None else f"{value:.2f}"
        sign = "≤" if at_most else "≥"
        lines.append(f"| {name} | {shown} | {sign} {goal:g} | {_met(value, goal, at_most)} |")
    sizes = build["mb_per_audio_hour"]
    lines += [
        "",
        "MB per audio hour: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in sizes.items() if v is not None)
        + " (Lhotse measured on this machine before: NumpyHdf5 370, Lilcom 62).",
    ]
    if build.get("lhotse_note"):
        lines += ["", f"Lhotse: {build['lhotse_note']}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", nargs="?", default="bench-work")
    ap.add_argument("--quick", action="store_true", help="smoke test of every benchmark")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    work = Path(args.workdir)
    results = work / "results"
    if results.exists():
        shutil.rmtree(results)
    results.mkdir(parents=True)
    quick = ["--quick"] if args.quick else []
    _, build_s = run(
        "build_compare.py",
        str(work / "build"),
        "--json",
        str(results / "build.json"),
        "--markdown",
        str(results / "build.md"),
        *quick,
    )
    _, read_s = run(
        "reader_throughput.py",
        str(work / "reader"),
        "--json",
        str(results / "reader.json"),
        "--markdown",
        str(results / "reader.md"),
        *quick,
    )
    shard_md, shard_s = run("shard_memory.py", str(work / "shard"), *quick)
    feature_args = ["--seconds", "20", "--repeats", "1"] if args.quick else ["--repeats", "3"]
    feature_md, feature_s = run("feature_throughput.py", *feature_args)
    build = json.loads((results / "build.json").read_text())
    read = json.loads((results / "reader.json").read_text())
    total = time.perf_counter() - started
    today = datetime.date.today().isoformat()
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Written by `make bench` (`python benchmarks/run_all.py"
            f"{' --quick' if args.quick else ''}`) on {today} in {total / 60:.1f} minutes "
            f"(build {build_s:.0f} s, reading {read_s:.0f} s, shard {shard_s:.0f} s, "
            f"features {feature_s:.0f} s). Every ratio compares figures of this one run.",
            "",
            *machine_facts(),
            "",
            "## Targets",
            "",
            *targets(build, read),
            "",
            (results / "build.md").read_text().strip(),
            "",
            (results / "reader.md").read_text().strip(),
            "",
            "## Shard memory",
            "",
            ("\n" + shard_md).replace("\n# ", "\n### ").strip(),
            "",
            "## Feature function against librosa",
            "",
            ("\n" + feature_md).replace("\n# ", "\n### ").strip(),
            "",
        ]
    )
    args.out.write_text(text)
    print(f"wrote {args.out} in {total / 60:.1f} minutes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
