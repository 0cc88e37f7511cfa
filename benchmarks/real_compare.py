"""Builds of real-like audio, start-up included: spectroprep against the naive script and Lhotse,
and one long file against 1-minute files of the same codec. build_compare.py calls ``measure``.

The corpus comes from real_corpus.py (written once into its cache folder, then reused). Every
build runs as a fresh subprocess, timed from its start to its exit (interpreter, imports and
worker start-up included), in ``repeats`` interleaved rounds; medians are reported:

* ``python -m spectroprep build AUDIO --out OUT --labels-from-folders --config logmel-16k
  --jobs {1,2} -q`` (64 log-mel bands in dB, 1 s windows, resampled to 16 kHz);
* the naive script (NAIVE): per file ``librosa.load(path, sr=16000)``, per 1 s window
  ``librosa.feature.melspectrogram`` (64 mels, the preset's frames), ``power_to_db`` and one
  ``np.save``, one process, BLAS on one thread (OpenBLAS's default two threads make the small
  mel product ~10x slower on 2 busy cores, which would flatter the ratio);
* Lhotse (LHOTSE): ``Recording.from_file`` per file, cuts resampled to 16 kHz (a stereo
  recording as its first channel: Lhotse downmixes only eagerly, in memory), ``Fbank`` with 64
  bins, ``compute_and_store_features`` with num_jobs=2 (its own spawned pool, torch on one
  thread per worker as it advises) into ``NumpyHdf5Writer`` and ``LilcomChunkyWriter``.

The long-file check builds, with spectroprep alone, a 30-minute Ogg Vorbis (44.1 kHz stereo)
and a 30-minute MP3 (44.1 kHz mono VBR) each against the same audio as thirty 1-minute files:
a long file should build about as fast (target >= 0.8 of the 1-minute files' rate). Peak
memory is the VmHWM of the largest process of each build's tree (the CLI and its workers),
sampled every 20 ms.

Standalone: python benchmarks/real_compare.py WORKDIR [--cache DIR] [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from real_corpus import Corpus, describe, ensure, span  # noqa: E402
from shard_memory import Run, run_sampled  # noqa: E402

PY = sys.executable
PRESET = "logmel-16k"
LONG_SETS = ("ogg", "mp3")
TARGETS = {
    "jobs2_over_naive": 5.0,
    "jobs2_over_lhotse": 4.0,
    "jobs2_over_jobs1": 1.8,
    "long_over_short": 0.8,
}
TITLES = {
    "jobs1": "spectroprep build --config logmel-16k --jobs 1",
    "jobs2": "spectroprep build --config logmel-16k --jobs 2",
    "naive": "naive script (librosa.load + melspectrogram + np.save per window, 1 process)",
    "lhotse_numpyhdf5": "Lhotse, Fbank 64 + NumpyHdf5Writer, num_jobs 2",
    "lhotse_lilcom": "Lhotse, Fbank 64 + LilcomChunkyWriter (lossy), num_jobs 2",
}
WRITERS = {"lhotse_numpyhdf5": "NumpyHdf5Writer", "lhotse_lilcom": "LilcomChunkyWriter"}

# The naive script, run with -c: argv AUDIO OUT. It writes OUT/summary.json.
NAIVE = """
import os, sys, json
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
from pathlib import Path
import numpy as np, librosa
audio, out = Path(sys.argv[1]), Path(sys.argv[2])
sr, windows = 16000, 0
for path in sorted(p for p in audio.rglob("*") if p.suffix in (".wav", ".flac", ".ogg", ".mp3")):
    x, _ = librosa.load(path, sr=sr)
    n = max(1, -(-len(x) // sr))
    x = np.pad(x, (0, n * sr - len(x)))
    folder = out / path.relative_to(audio).parent
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        mel = librosa.feature.melspectrogram(
            y=x[k * sr : (k + 1) * sr], sr=sr, n_fft=512, win_length=400, hop_length=160, n_mels=64
        )
        np.save(folder / f"{path.stem}_{k}.npy", librosa.power_to_db(mel).astype(np.float32))
    windows += n
(out / "summary.json").write_text(json.dumps({"seconds": windows}))
"""

# Lhotse, run with -c (its spawned workers then import only what the pickled task needs):
# argv AUDIO OUT WRITER. It writes OUT/summary.json.
LHOTSE = """
import os, sys, json
os.environ["OMP_NUM_THREADS"] = "1"
from pathlib import Path
import lhotse
from lhotse import CutSet, Fbank, FbankConfig, Recording, RecordingSet
from lhotse.cut import MultiCut
audio, out = Path(sys.argv[1]), Path(sys.argv[2])
paths = sorted(p for p in audio.rglob("*") if p.suffix in (".wav", ".flac", ".ogg", ".mp3"))
cuts = CutSet.from_manifests(
    recordings=RecordingSet.from_recordings(Recording.from_file(p) for p in paths)
)
cuts = CutSet.from_cuts(c.to_mono()[0] if isinstance(c, MultiCut) else c for c in cuts)
cuts = cuts.resample(16000).compute_and_store_features(
    extractor=Fbank(FbankConfig(num_filters=64)),
    storage_path=out,
    num_jobs=2,
    storage_type=getattr(lhotse, sys.argv[3]),
    progress_bar=False,
)
(out / "summary.json").write_text(json.dumps({"seconds": sum(c.duration for c in cuts)}))
"""


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | None, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def spectroprep_cmd(audio: Path, out: Path, jobs: int, labels: bool = True) -> list[str]:
    cmd = [PY, "-m", "spectroprep", "build", str(audio), "--out", str(out)]
    cmd += ["--labels-from-folders"] if labels else []
    return cmd + ["--config", PRESET, "--jobs", str(jobs), "-q"]


@dataclass
class Timed:
    """The runs of one build: wall seconds, peak memory, and how much audio its output holds."""

    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)  # MB, largest process (VmHWM)
    seconds: float | None = None  # audio seconds the output covers (last run)
    rejected: int = 0  # spectroprep: input files skipped (last run)
    error: str | None = None

    def add(self, run: Run, out: Path) -> None:
        if run.error:
            self.error = run.error.strip().splitlines()[-1]
            return
        self.walls.append(run.wall)
        self.peaks.append(run.peak_one)
        if (out / "dataset.json").exists():  # spectroprep: 1 s windows, hop 1 s
            counts = json.loads((out / "dataset.json").read_text())["counts"]
            self.seconds, self.rejected = float(counts["examples"]), int(counts["rejected"])
        elif (out / "summary.json").exists():
            self.seconds = float(json.loads((out / "summary.json").read_text())["seconds"])


def interleaved(
    runs: dict[str, list[str]], outs: dict[str, Path], repeats: int, keep: tuple[str, ...] = ()
) -> dict[str, Timed]:
    """``repeats`` rounds of every command, each on a fresh output; the ``keep`` outputs stay."""
    timed = {key: Timed() for key in runs}
    for r in range(repeats):
        for key, cmd in runs.items():
            if timed[key].error:
                continue
            shutil.rmtree(outs[key], ignore_errors=True)
            run = run_sampled(cmd, field="VmHWM")
            timed[key].add(run, outs[key])
            state = f"ERROR {timed[key].error}" if run.error else f"{run.wall:.2f} s"
            log(f"{key}: run {r + 1}/{repeats} {state}, {run.peak_one:,.0f} MB")
            if key not in keep or r < repeats - 1:
                shutil.rmtree(outs[key], ignore_errors=True)
    return timed


def same_features(built: Path, naive: Path) -> str:
    """spectroprep's example 0 against the naive script's window of the same file and second."""
    import csv

    import numpy as np

    from spectroprep import open_dataset

    with (built / "manifest.csv").open() as f:
        row = next(csv.DictReader(f))
    source = Path(row["source"])
    k = int(float(row["start"]))
    theirs = np.load(naive / source.parent / f"{source.stem}_{k}.npy")
    with open_dataset(built) as ds:
        ours = ds[0][0]
    diff = np.abs(ours - theirs)
    return (
        f"Check: example 0 ({source}, second {k}) against the naive script's window: shapes "
        f"{ours.shape} and {theirs.shape}, |difference| median {np.median(diff):.2g} dB, max "
        f"{diff.max():.2g} dB."
    )


# ---------------------------------------------------------------- the measurements


def measure_real(corpus: Corpus, work: Path, repeats: int, writers: list[str]) -> dict[str, Any]:
    """The real-like set built by every tool, interleaved."""
    audio = corpus.folder("real-like")
    outs = {key: work / "real" / key for key in ("jobs1", "jobs2", "naive", *writers)}
    runs = {
        "jobs1": spectroprep_cmd(audio, outs["jobs1"], 1),
        "jobs2": spectroprep_cmd(audio, outs["jobs2"], 2),
        "naive": [PY, "-c", NAIVE, str(audio), str(outs["naive"])],
    }
    for key in writers:
        runs[key] = [PY, "-c", LHOTSE, str(audio), str(outs[key]), WRITERS[key]]
    timed = interleaved(runs, outs, repeats, keep=("jobs2", "naive"))
    check = ""
    if (outs["jobs2"] / "dataset.json").exists() and (outs["naive"] / "summary.json").exists():
        check = same_features(outs["jobs2"], outs["naive"])
    shutil.rmtree(work / "real", ignore_errors=True)
    total = corpus.seconds("real-like")
    build = {}
    for key, t in timed.items():
        wall = median(t.walls)
        # a build that skipped files is credited only with the audio its output holds
        built = (t.seconds or 0.0) if t.rejected else total
        build[key] = built / wall if wall else None
    lhotse_rates = [rate for k in writers if (rate := build.get(k)) is not None]
    lhotse = max(lhotse_rates, default=None)
    return {
        "audio_seconds": total,
        "windows": sum(math.ceil(c.seconds) for c in corpus.under("real-like")),
        "files": len(corpus.under("real-like")),
        "build": build,
        "walls": {k: t.walls for k, t in timed.items()},
        "peak_rss_mb": {k: max(t.peaks, default=None) for k, t in timed.items()},
        "output_seconds": {k: t.seconds for k, t in timed.items()},
        "rejected": {k: t.rejected for k, t in timed.items() if k.startswith("jobs")},
        "errors": {k: t.error for k, t in timed.items() if t.error},
        "ratios": {
            "jobs2_over_naive": ratio(build["jobs2"], build["naive"]),
            "jobs2_over_lhotse": ratio(build["jobs2"], lhotse),
            "jobs2_over_jobs1": ratio(build["jobs2"], build["jobs1"]),
        },
        "check": check,
    }


def measure_long(corpus: Corpus, work: Path, repeats: int, jobs: int) -> dict[str, Any]:
    """Per codec: the long file and the same audio in parts, each built alone."""
    runs, outs = {}, {}
    for codec in LONG_SETS:
        for size in ("whole", "parts"):
            key = f"{codec}-{size}"
            outs[key] = work / "long" / key
            runs[key] = spectroprep_cmd(corpus.folder(f"long/{key}"), outs[key], jobs, False)
    timed = interleaved(runs, outs, repeats)
    shutil.rmtree(work / "long", ignore_errors=True)
    result: dict[str, Any] = {"jobs": jobs, "repeats": repeats}
    for codec in LONG_SETS:
        rates, peaks = {}, {}
        for size in ("whole", "parts"):
            t = timed[f"{codec}-{size}"]
            wall = median(t.walls)
            rates[size] = corpus.seconds(f"long/{codec}-{size}") / wall if wall else None
            peaks[size] = max(t.peaks, default=None)
        whole, parts = corpus.under(f"long/{codec}-whole"), corpus.under(f"long/{codec}-parts")
        result[codec] = {
            "file": f"{whole[0].format} {whole[0].rate / 1000:g} kHz "
            + ("stereo" if whole[0].channels == 2 else "mono")
            + (" VBR" if whole[0].vbr else ""),
            "long_seconds": whole[0].seconds,
            "parts": len(parts),
            "part_seconds": parts[0].seconds,
            "long": rates["whole"],
            "short": rates["parts"],
            "long_over_short": ratio(rates["whole"], rates["parts"]),
            "peak_rss_mb_long": peaks["whole"],
            "peak_rss_mb_short": peaks["parts"],
            "walls_long": timed[f"{codec}-whole"].walls,
            "walls_short": timed[f"{codec}-parts"].walls,
            "error": timed[f"{codec}-whole"].error or timed[f"{codec}-parts"].error,
        }
    return result


def lhotse_writers() -> tuple[list[str], str]:
    """The Lhotse writers that can run here, and a note saying why any cannot."""
    import importlib.util

    if importlib.util.find_spec("lhotse") is None or importlib.util.find_spec("torch") is None:
        return [], "Lhotse skipped: it is not installed (`make bench-peers` installs it)."
    if importlib.util.find_spec("lilcom") is None:
        return ["lhotse_numpyhdf5"], "LilcomChunkyWriter skipped: lilcom is not installed."
    return list(WRITERS), ""


def measure(
    work: Path,
    cache: Path,
    repeats: int,
    long_repeats: int,
    long_jobs: int = 2,
    quick: bool = False,
) -> dict[str, Any]:
    """Every figure of the real-like section, under the keys build.json keeps them
    (``quick``: the smoke-test corpus, in ``cache``/quick)."""
    t0 = time.perf_counter()
    corpus = ensure(cache / "quick" if quick else cache, quick=quick, log=log)
    ready = time.perf_counter() - t0
    log(f"real-like corpus {'reused' if corpus.reused else 'written'} in {ready:.0f} s")
    writers, note = lhotse_writers()
    real = measure_real(corpus, work, repeats, writers)
    long = measure_long(corpus, work, long_repeats, long_jobs)
    return {
        "corpus": {
            "root": str(corpus.root),
            "reused": corpus.reused,
            "generation_s": corpus.generation_s,
            "summary": describe(corpus),
        },
        "repeats": repeats,
        "lhotse_note": note,
        "real_like": real,
        "long_files": long,
        "seconds": time.perf_counter() - t0,
    }


# ---------------------------------------------------------------- report


def verdict(value: float | None, key: str) -> str:
    if value is None:
        return "–"
    return "yes" if value >= TARGETS[key] else "**no**"


def markdown(res: dict[str, Any]) -> list[str]:
    """The "### Real-like corpus" and "### Long files" parts of the build section."""
    corpus, real, long = res["corpus"], res["real_like"], res["long_files"]
    made = (
        f"reused from `{corpus['root']}` (generated there in {corpus['generation_s']:.0f} s)"
        if corpus["reused"]
        else f"generated in {corpus['generation_s']:.0f} s into `{corpus['root']}`"
    )
    lines = [
        "### Real-like corpus",
        "",
        f"Written by real_corpus.py (numpy + soundfile, seeded), {made}: " + corpus["summary"][0],
        *corpus["summary"][1:],
        "",
    ]
    if res["lhotse_note"]:
        lines += [f"**{res['lhotse_note']}**", ""]
    lines += [
        "| build | wall s (median) | audio-s / wall-s | × naive | peak RSS largest process MB "
        "| output covers audio s | per-run wall s |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    naive = real["build"].get("naive")
    for key, title in TITLES.items():
        walls = real["walls"].get(key)
        if not walls:
            error = real["errors"].get(key)
            lines.append(f"| {title} | {'ERROR: ' + error if error else 'skipped'} | | | | | |")
            continue
        speed = real["build"][key]
        lines.append(
            f"| {title} | {statistics.median(walls):.2f} | {fmt(speed)} "
            f"| {fmt(ratio(speed, naive), '.2f')} | {fmt(real['peak_rss_mb'][key])} "
            f"| {fmt(real['output_seconds'][key])} | {', '.join(f'{w:.2f}' for w in walls)} |"
        )
    rejected = max(real["rejected"].values(), default=0)
    lines += [
        "",
        f"Median of {res['repeats']} interleaved run(s), each a fresh process on a fresh "
        f"output (start-up, imports and worker pools included), page cache warm; "
        f"audio-s / wall-s counts the corpus's {real['audio_seconds']:,.0f} s"
        + (f"; spectroprep skipped {rejected} file(s)." if rejected else ".")
        + f" Output covers: 1 s windows written (Lhotse: seconds of features), against "
        f"{real['windows']:,} windows if every file were decoded to its end: libsndfile stops "
        "at the estimated length of the VBR MP3s whose Xing frame is gone, for every tool.",
    ]
    if real["check"]:
        lines += ["", real["check"]]
    names = {
        "jobs2_over_naive": "jobs 2 / naive script",
        "jobs2_over_lhotse": "jobs 2 / Lhotse's faster writer",
        "jobs2_over_jobs1": "jobs 2 / jobs 1",
    }
    lines += ["", "| ratio (real-like) | measured | target | met |", "|---|---:|---:|---|"]
    for key, name in names.items():
        value = real["ratios"][key]
        lines.append(
            f"| {name} | {fmt(value, '.2f')} | ≥ {TARGETS[key]:g} | {verdict(value, key)} |"
        )
    one = next(iter(long[c] for c in LONG_SETS))
    whole, part = span(one["long_seconds"]), span(one["part_seconds"])
    lines += [
        "",
        "### Long files",
        "",
        f"| file | {whole} file audio-s/s | {one['parts']} x {part} files audio-s/s "
        "| long / parts | target | met | peak RSS MB, long / parts "
        "| per-run wall s, long; parts |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for codec in LONG_SETS:
        one = long[codec]
        if one["error"]:
            lines.append(f"| {one['file']} | ERROR: {one['error']} | | | | | | |")
            continue
        value = one["long_over_short"]
        lines.append(
            f"| {one['file']} | {fmt(one['long'])} | {fmt(one['short'])} | {fmt(value, '.2f')} "
            f"| ≥ {TARGETS['long_over_short']:g} | {verdict(value, 'long_over_short')} "
            f"| {fmt(one['peak_rss_mb_long'])} / {fmt(one['peak_rss_mb_short'])} "
            f"| {', '.join(f'{w:.2f}' for w in one['walls_long'])}; "
            f"{', '.join(f'{w:.2f}' for w in one['walls_short'])} |"
        )
    lines += [
        "",
        f"`python -m spectroprep build FOLDER --out OUT --config {PRESET} --jobs "
        f"{long['jobs']} -q` on a folder holding one {whole} file, and on one holding the "
        f"same audio as {one['parts']} {part} files (each encoded on its own); median of "
        f"{long['repeats']} interleaved run(s), start-up included. Peak RSS: the largest "
        "VmHWM among the build's processes (the CLI and its workers), sampled every 20 ms; "
        "the maximum over the runs.",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path, help="scratch folder for the outputs")
    ap.add_argument("--cache", type=Path, help="corpus cache (default WORKDIR/../real-corpus)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--long-repeats", type=int, default=3, help="long-file rounds (default 3)")
    ap.add_argument("--long-jobs", type=int, default=2, help="jobs of the long-file builds")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--quick", action="store_true", help="smoke test: a tiny corpus, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = args.long_repeats = 1
    cache = args.cache or args.workdir.resolve().parent / "real-corpus"
    res = measure(args.workdir, cache, args.repeats, args.long_repeats, args.long_jobs, args.quick)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    print("\n".join(markdown(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
