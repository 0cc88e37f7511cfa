"""Run every benchmark in one go and write benchmarks/RESULTS.md (what ``make bench`` does).

The results open with the issue's targets, each a ratio measured in this run,
then each benchmark's own section: build (against a naive script and Lhotse, on a
generated WAV corpus and on a real-like one, cached in WORKDIR/real-corpus; and long
files against 1-minute files), reading (against one .npy per example and the mmap
limit), reading at 100k examples against 10k (datasets cached in WORKDIR/scale/cache),
shard memory, the feature function against librosa, grouped splits against
scikit-learn, subsets read with ``where`` and their merged statistics against a
permutation read and a numpy pass, frame targets as runs against dense arrays, and
the training loop's options (balance, transforms, a real DataLoader) against plain reads,
each framework's route into training (tf.data, Keras on TensorFlow, torch) against a
plain loop in the same environment, and the code's own choices against the roads not taken.

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


def scale_rows(scale: dict) -> list[tuple[str, float | None, float, bool]]:
    """read_scale.py's targets: each route's rate at the largest size over the smallest,
    the shuffled batches' mix of sources, open_dataset's time at the largest size."""
    small, big = scale["sizes"][0]["label"], scale["sizes"][-1]["label"]
    rows = [
        (f"reads at {big} / at {small}: {route}", scale["ratios"][big][route], 0.7, False)
        for route in scale["routes"]
        if route != "bare preadv (floor)"  # the machine's, a reference for the others
    ]
    return [
        *rows,
        (
            f"shuffled batch mix / random permutation, distinct sources (at {big})",
            scale["mix"][big]["sources_ratio"],
            0.9,
            False,
        ),
        (f"open_dataset at {big} (s)", scale["open"][big]["warm"]["open_s"], 1.0, True),
    ]


def _scale_run() -> list[str]:
    """The last `make bench-scale` (benchmarks/SCALE.md, up to 1M examples) as a section of
    its own: it takes up to an hour, so `make bench` carries it over, saying so."""
    scale = HERE / "SCALE.md"
    if not scale.is_file():
        return []
    body = scale.read_text().strip().replace("## Reading at scale", "", 1).strip()
    return [
        "## Reading at scale, up to 1M examples (the last `make bench-scale`)",
        "",
        "Carried over from benchmarks/SCALE.md, which `make bench-scale` wrote; its figures "
        "come from that run, not this one (its own command line and git commit follow).",
        "",
        body.replace("\n## ", "\n### "),
        "",
    ]


def targets(build: dict, read: dict, startup: dict, scale: dict) -> list[str]:
    """The issue's targets as a table: measured ratio, target, met or missed."""
    b, r = build["ratios"], read["ratios"]
    default, half = r["float32, none (default)"], r["float16, none"]
    rss = build["build_rss_mb"]
    singles = build["random_single_reads"]
    real = build.get("real", {})
    rr = real.get("real_like", {}).get("ratios", {})
    long = real.get("long_files", {})
    rows = [
        ("build, generated WAV: 2 jobs / 1 job", b["jobs2_over_jobs1"], 1.8, False),
        (
            "build, generated WAV: 2 jobs / naive script (librosa + np.save)",
            b["jobs2_over_naive"],
            10,
            False,
        ),
        (
            "build, generated WAV: 2 jobs / Lhotse (fastest writer, 2 jobs)",
            b["jobs2_over_lhotse"],
            3,
            False,
        ),
        (
            "build, real-like, start-up included: 2 jobs / naive script (librosa log-mel)",
            rr.get("jobs2_over_naive"),
            5,
            False,
        ),
        (
            "build, real-like, start-up included: 2 jobs / Lhotse's faster writer (Fbank)",
            rr.get("jobs2_over_lhotse"),
            4,
            False,
        ),
        (
            "build, real-like, start-up included: 2 jobs / 1 job",
            rr.get("jobs2_over_jobs1"),
            1.8,
            False,
        ),
        (
            "build, a 30-min Vorbis file / the same as 1-min files (audio-s/s)",
            long.get("ogg", {}).get("long_over_short"),
            0.8,
            False,
        ),
        (
            "build, a 30-min MP3 file / the same as 1-min files (audio-s/s)",
            long.get("mp3", {}).get("long_over_short"),
            0.8,
            False,
        ),
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
        (
            "cold `spectroprep build`, 2 jobs: seconds until its first shard is written",
            startup.get("first shard written, jobs 2"),
            1.0,
            True,
        ),
        ("build peak RSS 4x / 1x corpus, largest process", rss["largest_ratio"], 1.1, True),
        ("build peak RSS 4x / 1x corpus, process tree", rss["tree_ratio"], 1.1, True),
        *scale_rows(scale),
    ]
    lines = ["| target | measured | goal | |", "|---|---:|---:|---|"]
    for name, value, goal, at_most in rows:
        shown = "–" if value is None else f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"
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
    # Trimmed to leave time for the real-like corpus, the long files and reading at scale
    # within ~10 minutes: the generated corpus is 60 files (0.5 h, build_compare's default
    # is 120) and 3 rounds (default 5); the reader's cells are 0.3 s (default 1 s)
    trim = [] if args.quick else ["--files", "60", "--repeats", "3"]
    _, build_s = run(
        "build_compare.py",
        str(work / "build"),
        *trim,
        "--json",
        str(results / "build.json"),
        "--markdown",
        str(results / "build.md"),
        *quick,
    )
    _, read_s = run(
        "reader_throughput.py",
        str(work / "reader"),
        *([] if args.quick else ["--seconds", "0.3"]),
        "--json",
        str(results / "reader.json"),
        "--markdown",
        str(results / "reader.md"),
        *quick,
    )
    # 10k and 100k examples, cells of 0.4 s (default 1 s), one cold round (default 3): ~70 s
    # with its datasets cached in WORKDIR/scale (the first run builds them, ~1.5 min more)
    scale_trim = ["--seconds", "0.4", "--rounds", "3", "--cold-rounds", "1"]
    _, scale_s = run(
        "read_scale.py",
        str(work / "scale"),
        *([] if args.quick else ["--sizes", "10000,100000", *scale_trim]),
        "--json",
        str(results / "scale.json"),
        "--markdown",
        str(results / "scale.md"),
        *quick,
    )
    shard_md, shard_s = run("shard_memory.py", str(work / "shard"), *quick)
    feature_args = ["--seconds", "20", "--repeats", "1"] if args.quick else ["--repeats", "3"]
    feature_md, feature_s = run("feature_throughput.py", *feature_args)
    startup_md, startup_s = run("startup.py", str(work / "startup"))
    split_md, _ = run("split_quality.py")
    subsets_md, subsets_s = run("subsets.py", str(work), *quick)
    frames_args = ["--clips", "40", "--rounds", "3"] if args.quick else []
    frames_md, frames_s = run("frame_targets.py", str(work), *frames_args)
    loop_md, loop_s = run("training_loop.py", str(work), *quick)
    routes_md, routes_s = run("framework_routes.py", str(work), *quick)
    choices_md, choices_s = run("code_choices.py", *quick)
    startup = json.loads((work / "startup" / "startup.json").read_text())
    build = json.loads((results / "build.json").read_text())
    read = json.loads((results / "reader.json").read_text())
    scale = json.loads((results / "scale.json").read_text())
    total = time.perf_counter() - started
    real = build.get("real")
    real_s = ""
    if real:
        corpus = real["corpus"]
        made = "reused" if corpus["reused"] else f"generated in {corpus['generation_s']:.0f} s"
        real_s = f" (of which real-like and long files {real['seconds']:.0f} s, corpus {made})"
    today = datetime.date.today().isoformat()
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Written by `make bench` (`python benchmarks/run_all.py"
            f"{' --quick' if args.quick else ''}`) on {today} in {total / 60:.1f} minutes "
            f"(build {build_s:.0f} s{real_s}, reading {read_s:.0f} s, reading at scale "
            f"{scale_s:.0f} s, shard {shard_s:.0f} s, "
            f"features {feature_s:.0f} s, start-up {startup_s:.0f} s, subsets {subsets_s:.0f} s, "
            f"frame targets {frames_s:.0f} s, training loop {loop_s:.0f} s, framework routes "
            f"{routes_s:.0f} s, the code's choices {choices_s:.0f} s). Every ratio compares "
            "figures of this one run.",
            "",
            *machine_facts(),
            "",
            "## Targets",
            "",
            *targets(build, read, startup, scale),
            "",
            (results / "build.md").read_text().strip(),
            "",
            (results / "reader.md").read_text().strip(),
            "",
            (results / "scale.md").read_text().strip(),
            "",
            *_scale_run(),
            "## Shard memory",
            "",
            ("\n" + shard_md).replace("\n# ", "\n### ").strip(),
            "",
            "## Feature function against librosa",
            "",
            ("\n" + feature_md).replace("\n# ", "\n### ").strip(),
            "",
            "## Grouped splits against scikit-learn (benchmarks/split_quality.py)",
            "",
            "Shares of `--split train=0.8,val=0.1,test=0.1` and StratifiedGroupKFold "
            "(8/1/1 of 10 folds) on the same groups; errors are mean absolute differences "
            "from the ratios:",
            "",
            split_md.strip(),
            "",
            subsets_md.replace("\n# ", "\n### ").strip(),
            "",
            frames_md.strip(),
            "",
            loop_md.replace("\n# ", "\n### ").strip(),
            "",
            routes_md.strip(),
            "",
            choices_md.strip(),
            "",
            "## Start-up (benchmarks/startup.py)",
            "",
            "Medians of 7 fresh commands on a one-second WAV (one shard), interleaved:",
            "",
            "```",
            startup_md.strip(),
            "```",
            "",
        ]
    )
    args.out.write_text(text)
    print(f"wrote {args.out} in {total / 60:.1f} minutes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
