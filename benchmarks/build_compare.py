"""Build side of issue 7: spectroprep against a naive script and Lhotse, side by side in one run.

On one synthesised corpus (class folders of 16 kHz mono WAV, ``make_corpus`` from
build_throughput.py) it measures:

* throughput (audio seconds per wall second, median of ``--repeats`` interleaved runs) of
  ``spectroprep.build`` (defaults: hdf5, float32, no compression) at jobs 1 and 2; of the
  naive script (``librosa.load``, 1 s windows, ``librosa.stft`` power per window,
  ``np.log(S + 1e-6)``, one ``np.save`` per window, one process); and of Lhotse 1.33
  (recording manifests from the WAV files, ``CutSet.from_manifests``,
  ``compute_and_store_features`` with ``Spectrogram`` at 25 ms / 10 ms, num_jobs=2, into
  ``NumpyHdf5Writer`` and ``LilcomChunkyWriter``). Both tools get warm workers (spectroprep
  its fork server, Lhotse a pool); Lhotse's
  workers run torch on one thread each, as its own warning advises. One cold run of each
  (a fresh interpreter, its own pool) is reported beside;
* where one shard's time goes, stage by stage (build_stages.py), and the rate two cores
  could reach at that per-core sum against the naive and Lhotse rates;
* bytes on disk per audio hour: spectroprep in float32 and float16 with each codec, Lhotse's
  two writers;
* random single reads/s: 2,000 after 50 warm-up, ``ds[i]`` on the default build against
  Lhotse's ``Features.load(start, duration=1.0)`` of the same one-second windows;
* build peak RSS of ``python -m spectroprep build`` (jobs 2) on the corpus (1x) and on 4x as
  many files of the same length (hard links), sampled every 20 ms over the whole process tree;
* then, through real_compare.py, on a real-like corpus (real_corpus.py: 1 h of FLAC, Vorbis,
  MP3 and WAV at 44.1/48 kHz, stereo and mono, 1 s to 10 min, cached between runs): the CLI
  with ``--config logmel-16k`` at jobs 1 and 2, a naive librosa log-mel script and Lhotse
  (Fbank 64), each a fresh process, start-up included; and a 30-minute Vorbis and MP3 file
  against the same audio as 1-minute files (``--no-real`` skips both).

Lhotse is optional: without it (``make bench-peers`` installs it) its rows are skipped with a
note. Usage, from the repository root (WORKDIR is scratch, emptied of outputs as it goes)::

    .venv/bin/python benchmarks/build_compare.py WORKDIR [--files N] [--seconds S]
        [--repeats N] [--real-cache DIR] [--real-repeats N] [--long-repeats N] [--no-real]
        [--quick] --json OUT.json --markdown OUT.md
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # build_throughput and shard_memory, imported where used:
# Lhotse's spawned workers import this module again, and should load no more than they need
if TYPE_CHECKING:
    from shard_memory import Run

READS = 2000
WARMUP_READS = 50
RATE = 16000
PY = sys.executable
DTYPES = ("float32", "float16")
CODECS = ("none", "blosc2-lz4", "blosc2-zstd")
WRITERS = {"lhotse_numpyhdf5": "NumpyHdf5Writer", "lhotse_lilcom": "LilcomChunkyWriter"}
TITLES = {
    "jobs1": "spectroprep build, jobs 1",
    "jobs2": "spectroprep build, jobs 2",
    "naive": "naive script (librosa.stft + np.save per window, 1 process)",
    "lhotse_numpyhdf5": "Lhotse, Spectrogram + NumpyHdf5Writer, num_jobs 2",
    "lhotse_lilcom": "Lhotse, Spectrogram + LilcomChunkyWriter (lossy), num_jobs 2",
}
BLOSC2 = importlib.util.find_spec("hdf5plugin") is not None  # spectroprep's blosc2 codecs
TARGETS = {"jobs2_over_jobs1": 1.8, "jobs2_over_naive": 10.0, "jobs2_over_lhotse": 3.0}


def tree_bytes(folder: Path) -> int:
    """Apparent bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# ---------------------------------------------------------------- the builds


def naive_build(paths: list[Path], audio_root: Path, out: Path) -> int:
    """The naive script: per file, per 1 s window, one librosa.stft and one np.save."""
    import librosa

    out.mkdir(parents=True)
    rows = ["path,label"]
    for path in paths:
        x, rate = librosa.load(path, sr=None, mono=True)
        sr = int(rate)
        n = max(1, -(-len(x) // sr))
        x = np.pad(x, (0, n * sr - len(x)))  # the last window zero-padded, as spectroprep's
        rel = path.relative_to(audio_root)
        (out / rel.parent).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            spec = librosa.stft(
                x[k * sr : (k + 1) * sr], n_fft=512, win_length=400, hop_length=160, window="hann"
            )
            power = spec.real**2 + spec.imag**2
            name = f"{rel.parent}/{path.stem}_{k}.npy"
            np.save(out / name, np.log(power + 1e-6).astype(np.float32))
            rows.append(f"{name},{rel.parent.name}")
    (out / "labels.csv").write_text("\n".join(rows) + "\n")
    return len(rows) - 1


def spectroprep_build(
    audio: Path,
    out: Path,
    jobs: int,
    dtype: str = "float32",
    codec: str = "none",
    shard_examples: int | None = None,
) -> None:
    """spectroprep's default HDF5 build, with the dtype and codec pinned."""
    from spectroprep import build

    overrides = [f"storage.dtype={dtype}", f"storage.compression={codec}"]
    if shard_examples:
        overrides.append(f"storage.shard_examples={shard_examples}")
    build(
        audio,
        out,
        labels_from_folders=True,
        jobs=jobs,
        format="hdf5",
        overrides=overrides,
        overwrite=True,
    )


def lhotse_status() -> tuple[list[str], str]:
    """Lhotse writers usable here, and a one-line note saying what ran or why not."""
    try:
        import lhotse
        import torch
    except ImportError as exc:
        return [], f"Lhotse skipped: it does not import ({exc}); `make bench-peers` installs it."
    note = f"lhotse {lhotse.__version__}, torch {torch.__version__}"
    try:
        import lilcom  # noqa: F401
    except ImportError:
        return ["lhotse_numpyhdf5"], (
            f"{note}; LilcomChunkyWriter skipped: lilcom does not import "
            "(`make bench-peers` installs it)."
        )
    return list(WRITERS), f"{note}, lilcom {version('lilcom')}."


def _lhotse_worker_init() -> None:
    """Lhotse warns that torch threads > 1 in its workers can stall; one thread each."""
    import lhotse  # noqa: F401
    import torch

    torch.set_num_threads(1)


def _pause(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def lhotse_pool() -> ProcessPoolExecutor:
    """Two spawned workers with torch and lhotse imported, started before timing."""
    import torch

    torch.set_num_threads(1)  # this process only plans; and Lhotse warns otherwise
    pool = ProcessPoolExecutor(
        2, mp_context=multiprocessing.get_context("spawn"), initializer=_lhotse_worker_init
    )
    list(pool.map(_pause, [0.3, 0.3]))  # both workers busy at once: both started
    return pool


def lhotse_build(audio: Path, out: Path, writer: str, pool: Executor | None) -> Any:
    """Recordings from the WAV files, cuts, and Lhotse's own parallel feature extraction."""
    import lhotse
    from lhotse import CutSet, Recording, RecordingSet, Spectrogram, SpectrogramConfig

    recordings = RecordingSet.from_recordings(
        Recording.from_file(p) for p in sorted(audio.rglob("*.wav"))
    )
    cuts = CutSet.from_manifests(recordings=recordings)
    config = SpectrogramConfig(sampling_rate=RATE, frame_length=0.025, frame_shift=0.01)
    return cuts.compute_and_store_features(
        extractor=Spectrogram(config),
        storage_path=out,
        num_jobs=2,
        storage_type=getattr(lhotse, writer),
        executor=pool,
        progress_bar=False,
    )


# A cold Lhotse run in a fresh interpreter, with Lhotse's own default pool. Run with -c, so
# its spawned workers import only what the pickled Lhotse task needs; OMP_NUM_THREADS=1 is
# inherited by them (torch on one thread each, as Lhotse's warning advises).
LHOTSE_COLD = """
import os, sys
os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from build_compare import lhotse_build
lhotse_build(Path(sys.argv[2]), Path(sys.argv[3]), "NumpyHdf5Writer", None)
"""


# ---------------------------------------------------------------- reads


def read_rate(read: Callable[[int], object], n: int, rng: np.random.Generator) -> float:
    """Random single reads per second: READS of ``read(i)``, i < n, after WARMUP_READS."""
    for i in rng.integers(0, n, WARMUP_READS):
        read(int(i))
    idx = rng.integers(0, n, READS)
    t0 = time.perf_counter()
    for i in idx:
        read(int(i))
    return READS / (time.perf_counter() - t0)


def lhotse_reader(cuts: Any) -> tuple[Callable[[int], object], int]:
    """Reads of the 1 s windows spectroprep stores: every whole second of every cut."""
    windows = [(c.features, float(s)) for c in cuts for s in range(int(c.duration + 1e-9))]

    def read(i: int) -> object:
        features, start = windows[i]
        return features.load(start=start, duration=1.0)

    return read, len(windows)


# ---------------------------------------------------------------- measuring


class Bench:
    """Runs every measurement on one corpus and keeps the figures for the report."""

    def __init__(
        self, work: Path, paths: list[Path], audio: Path, repeats: int, cold_peer: bool
    ) -> None:
        self.work, self.paths, self.audio, self.repeats = work, paths, audio, repeats
        self.cold_peer = cold_peer  # also time a cold Lhotse run
        self.read_passes = min(3, repeats)
        self.audio_s = sum(_frames(p) for p in paths) / RATE
        self.walls: dict[str, list[float]] = {}
        self.sizes: dict[str, float | None] = {}  # MB per audio hour
        self.size_walls: dict[str, float] = {}
        self.reads: dict[str, list[float]] = {}
        self.cold: dict[str, Run] = {}
        self.rss: dict[str, Run] = {}
        self.writers, self.note = lhotse_status()
        self.notes: list[str] = []
        self.check = ""
        self.lhotse_shape: tuple[int, ...] | None = None
        self.shards: list[int] = []  # examples per shard of the default build
        self.load = os.getloadavg()[0]  # other work on the machine skews every figure
        self.stages: dict[str, dict[str, float]] = {}  # build_stages.measure

    def mb_per_hour(self, folder: Path) -> float:
        return tree_bytes(folder) / 1e6 / (self.audio_s / 3600)

    def throughput(self) -> dict[str, Any]:
        """Interleaved repeats of every build; returns the last outputs kept for reads."""
        from build_throughput import make_corpus

        pool = lhotse_pool() if self.writers else None
        # Warm-up, untimed: every worker of both pools imports what a build needs (a worker
        # does so at its first task: 2-ex shards give each several), the naive script librosa.
        warm = self.work / "warm-up"
        make_corpus(warm / "audio", 4, 4.0, flac=False)
        for jobs, codec in ((1, "none"), (2, "none"), (2, "blosc2-lz4"))[: 3 if BLOSC2 else 2]:
            spectroprep_build(warm / "audio", warm / "out", jobs, codec=codec, shard_examples=2)
        naive_build(self.paths[:1], self.audio, warm / "naive")
        for key in self.writers:
            lhotse_build(warm / "audio", warm / key, WRITERS[key], pool)
        shutil.rmtree(warm)
        runs: dict[str, Callable[[Path], Any]] = {
            "jobs1": lambda out: spectroprep_build(self.audio, out, 1),
            "jobs2": lambda out: spectroprep_build(self.audio, out, 2),
            "naive": lambda out: naive_build(self.paths, self.audio, out),
        }
        for key in self.writers:
            runs[key] = partial(lhotse_build, self.audio, writer=WRITERS[key], pool=pool)
        kept: dict[str, Any] = {}
        for r in range(self.repeats):
            for key, run in runs.items():
                out = self.work / "out" / key
                shutil.rmtree(out, ignore_errors=True)
                t0 = time.perf_counter()
                result = run(out)
                self.walls.setdefault(key, []).append(time.perf_counter() - t0)
                log(f"{key}: run {r + 1}/{self.repeats} {self.walls[key][-1]:.2f} s")
                kept[key] = result
        if pool:
            pool.shutdown()
        out = self.work / "out"
        self.sizes["float32 none"] = self.mb_per_hour(out / "jobs2")
        self.sizes["naive"] = self.mb_per_hour(out / "naive")
        for key in self.writers:
            self.sizes[key.replace("_", " ")] = self.mb_per_hour(out / key)
        self.check = self.same_features(out / "jobs2", out / "naive")
        info = json.loads((out / "jobs2" / "dataset.json").read_text())
        self.shards = [f["examples"] for f in info["files"]]
        shutil.rmtree(out / "naive")
        return kept

    def same_features(self, built: Path, naive: Path) -> str:
        """How far spectroprep's first example is from the naive script's first window."""
        from spectroprep import open_dataset

        first = self.paths[0].relative_to(self.audio)
        theirs = np.load(naive / first.parent / f"{first.stem}_0.npy")
        with open_dataset(built) as ds:
            ours = ds[0][0]
        return (
            f"Example 0 of the default build against the naive script's first window: "
            f"shape {ours.shape} and {theirs.shape}, max abs difference "
            f"{np.max(np.abs(ours - theirs)):.1e} log units."
        )

    def codec_sizes(self) -> None:
        """One jobs-2 build per dtype and codec (size is deterministic)."""
        codecs = CODECS if BLOSC2 else ("none",)
        if not BLOSC2:
            self.notes.append("hdf5plugin does not import: the blosc2 sizes are not measured.")
        out = self.work / "out" / "codec"
        for dtype in DTYPES:
            for codec in codecs:
                key = f"{dtype} {codec}"
                if key in self.sizes:  # the default build, measured already
                    continue
                t0 = time.perf_counter()
                spectroprep_build(self.audio, out, 2, dtype, codec)
                self.size_walls[key] = time.perf_counter() - t0
                self.sizes[key] = self.mb_per_hour(out)
                log(f"{key}: {self.sizes[key]:.0f} MB per audio hour")
                shutil.rmtree(out)

    def random_reads(self, kept: dict[str, Any]) -> None:
        """Passes of random single reads, interleaved, one per repeat."""
        from spectroprep import open_dataset

        readers: dict[str, tuple[Callable[[int], object], int]] = {}
        ds = open_dataset(self.work / "out" / "jobs2")
        readers["spectroprep"] = (lambda i: ds[i], len(ds))
        for key in self.writers:
            readers[key] = lhotse_reader(kept[key])
        rng = np.random.default_rng(1234)
        for _ in range(self.read_passes):
            for key, (read, n) in readers.items():
                self.reads.setdefault(key, []).append(read_rate(read, n, rng))
        ds.close()
        log("reads/s: " + ", ".join(f"{k} {median(v):,.0f}" for k, v in self.reads.items()))
        if self.writers:
            import lhotse

            self.lhotse_shape = kept[self.writers[0]][0].features.load(duration=1.0).shape
            lhotse.close_cached_file_handles()
        shutil.rmtree(self.work / "out")

    def memory(self) -> None:
        """Cold CLI builds of the 1x and 4x corpora, and a cold Lhotse run on 1x, sampled."""
        from shard_memory import run_sampled

        big = self.work / "corpus-4x"
        shutil.rmtree(big, ignore_errors=True)
        for copy in range(4):
            for path in self.paths:
                rel = path.relative_to(self.audio)
                dest = big / rel.parent / f"{path.stem}-{copy}{path.suffix}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, dest)
                except OSError:  # no hard links here: a copy will do
                    shutil.copyfile(path, dest)
        self.rss["help"] = run_sampled([PY, "-m", "spectroprep", "--help"])
        for scale, audio in (("1x", self.audio), ("4x", big)):
            out = self.work / f"rss-{scale}"
            cmd = [PY, "-m", "spectroprep", "build", str(audio), "--out", str(out)]
            self.rss[scale] = run_sampled(cmd + ["--labels-from-folders", "--jobs", "2", "-q"])
            log(f"build {scale}: {self.rss[scale].wall:.2f} s, {self.rss[scale].peak_one:.0f} MB")
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(big)
        self.cold["spectroprep"] = self.rss["1x"]
        if self.writers and self.cold_peer:
            out = self.work / "lhotse-cold"
            cmd = [PY, "-c", LHOTSE_COLD, str(HERE), str(self.audio), str(out)]
            self.cold["lhotse"] = run_sampled(cmd)
            log(f"Lhotse cold: {self.cold['lhotse'].wall:.2f} s")
            shutil.rmtree(out, ignore_errors=True)


def _frames(path: Path) -> int:
    import soundfile as sf

    return sf.info(path).frames


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- report


def rate(bench: Bench, key: str) -> float | None:
    wall = median(bench.walls.get(key, []))
    return bench.audio_s / wall if wall else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def results(bench: Bench) -> dict[str, Any]:
    """The figures, under the keys RESULTS.md and ``make bench`` read."""
    build = {key: rate(bench, key) for key in TITLES}
    lhotse = [v for k, v in build.items() if k.startswith("lhotse") and v is not None]
    reads = {key: median(bench.reads.get(key, [])) for key in ("spectroprep", *WRITERS)}
    lhotse_reads = [v for k, v in reads.items() if k != "spectroprep" and v is not None]
    rss = bench.rss
    one = {s: rss[s].peak_one if s in rss and not rss[s].error else None for s in ("1x", "4x")}
    tree = {s: rss[s].peak_tree if s in rss and not rss[s].error else None for s in ("1x", "4x")}
    sizes = [f"{d} {c}" for c in CODECS for d in DTYPES] + [k.replace("_", " ") for k in WRITERS]
    return {
        "audio_seconds": float(bench.audio_s),
        "build": build,
        "ratios": {
            "jobs2_over_jobs1": ratio(build["jobs2"], build["jobs1"]),
            "jobs2_over_naive": ratio(build["jobs2"], build["naive"]),
            "jobs2_over_lhotse": ratio(build["jobs2"], max(lhotse, default=None)),
        },
        "mb_per_audio_hour": {k: bench.sizes.get(k) for k in sizes},
        "random_single_reads": {
            **reads,
            "ratio_over_lhotse": ratio(reads["spectroprep"], max(lhotse_reads, default=None)),
        },
        "build_rss_mb": {
            "largest_1x": one["1x"],
            "largest_4x": one["4x"],
            "tree_1x": tree["1x"],
            "tree_4x": tree["4x"],
            "largest_ratio": ratio(one["4x"], one["1x"]),
            "tree_ratio": ratio(tree["4x"], tree["1x"]),
        },
        "shard_stages_ms": bench.stages,
        "lhotse_note": bench.note,
    }


def uncommitted() -> list[str]:
    """A line saying the measured spectroprep/ differs from the commit named above."""
    git = ["git", "status", "--porcelain", "--", "spectroprep"]
    changed = subprocess.run(git, capture_output=True, text=True, cwd=HERE.parent).stdout
    return ["- with uncommitted changes to spectroprep/"] if changed.strip() else []


def shard_balance(shards: list[int]) -> str:
    """The best jobs-2 speed-up the shard tasks allow: total over the busier worker's share."""
    if not shards:
        return ""
    total, sums = sum(shards), {0}
    for n in shards:  # every subset sum: what one worker can be given
        sums |= {s + n for s in sums}
    busier = min(max(s, total - s) for s in sums)
    return (
        f"The default build is {len(shards)} shard task(s) of {', '.join(map(str, shards))} "
        f"examples; each is one worker's job, so with 2 workers the busier one does at least "
        f"{busier:,} of {total:,} examples: jobs 2 / jobs 1 can reach {total / busier:.2f} here."
    )


def stage_ceiling(stages: dict[str, dict[str, float]], res: dict[str, Any]) -> list[str]:
    """The per-stage table, and what its sum allows two cores against the targets."""
    from build_stages import EXAMPLES
    from build_stages import markdown as stage_lines

    ceiling = 2 * EXAMPLES / (sum(stages["stages"].values()) / 1e3)
    naive = res["build"]["naive"]
    lhotse = max((v for k, v in res["build"].items() if k.startswith("lhotse") and v), default=None)
    against = [f"{fmt(ratio(ceiling, naive), '.1f')}× the naive script"]
    needs = [f"{fmt(10 * naive)} for 10× naive"] if naive else []
    if lhotse:
        against.append(f"{ratio(ceiling, lhotse):.1f}× Lhotse's fastest writer")
        needs.append(f"{3 * lhotse:,.0f} for 3× Lhotse")
    return [
        *stage_lines(stages),
        f"Two cores, each running shards at this sum with nothing lost to sharing, would "
        f"build at most {ceiling:,.0f} audio-s/s: {' and '.join(against)}. The build targets "
        f"ask for {' and '.join(needs) or 'rates not measured here'} audio-s/s.",
        "",
    ]


def met(value: float | None, target: float, at_most: bool = False) -> str:
    """``1.23×, met`` / ``not met``, or that it was not measured."""
    if value is None:
        return "not measured"
    ok = value <= target if at_most else value >= target
    return f"{value:.2f}×, {'met' if ok else '**not met**'}"


def fmt(value: float | None, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def markdown(bench: Bench, res: dict[str, Any], args: argparse.Namespace, total: float) -> str:
    """The "## Build" section of RESULTS.md."""
    from build_throughput import machine_facts

    hours = bench.audio_s / 3600
    lines = [
        "## Build",
        "",
        f"Command: `{' '.join([Path(PY).name, *sys.argv])}` (the whole run took {total:.0f} s; "
        f"1-minute load average {bench.load:.2f} at its start, {os.getloadavg()[0]:.2f} at its "
        "end: above 0.5 or so, other work shared the 2 cores).",
        "",
        "Machine:",
        *machine_facts(),
        *uncommitted(),
        *([f"- {bench.note}"] if bench.writers else []),
        "",
        f"Generated corpus (every table up to Build peak memory): {len(bench.paths)} files x "
        f"{args.seconds:g} s = {bench.audio_s:,.0f} audio s "
        f"({hours:.3f} h) of 16 kHz mono PCM_16 WAV in 4 class folders, synthesised by "
        f"build_throughput.make_corpus; every build labels by folder. Features: 257 x 101 "
        f"log power spectrogram (n_fft 512, hann 400, hop 160, centred) per 1 s window.",
        "",
    ]
    if len(bench.writers) < len(WRITERS):  # a peer skipped: say so plainly
        lines += [f"**{bench.note}**", ""]
    lines += [
        "### Build throughput, generated WAV corpus",
        "",
        "| build | wall s (median) | audio-s / wall-s | × naive | per-run wall s |",
        "|---|---:|---:|---:|---|",
    ]
    naive = res["build"]["naive"]
    for key, title in TITLES.items():
        walls = bench.walls.get(key)
        if not walls:
            lines.append(f"| {title} | skipped | | | |")
            continue
        speed = res["build"][key]
        lines.append(
            f"| {title} | {median(walls):.2f} | {fmt(speed)} | {fmt(ratio(speed, naive), '.2f')} "
            f"| {', '.join(f'{w:.2f}' for w in walls)} |"
        )
    lines += [
        "",
        f"Median of {bench.repeats} run(s), interleaved (each repeat runs every build once), each "
        "on a fresh output folder, page cache warm. spectroprep's fork server (each build "
        "forks its own 2 workers from it) and Lhotse's spawned pool (2 workers, torch 1 "
        "thread each, as Lhotse's own warning advises) are started before timing; each "
        "timed run includes everything else: spectroprep's "
        "header pass and planning, Lhotse's recording manifests (`Recording.from_file`) and "
        "`CutSet.from_manifests`.",
        "",
        "| ratio | measured | target | met |",
        "|---|---:|---:|---|",
    ]
    names = {
        "jobs2_over_jobs1": "jobs 2 / jobs 1",
        "jobs2_over_naive": "jobs 2 / naive script",
        "jobs2_over_lhotse": "jobs 2 / Lhotse's fastest writer",
    }
    for key, name in names.items():
        value = res["ratios"][key]
        verdict = "–" if value is None else ("yes" if value >= TARGETS[key] else "**no**")
        lines.append(f"| {name} | {fmt(value, '.2f')} | ≥ {TARGETS[key]:g} | {verdict} |")
    lines += ["", shard_balance(bench.shards), bench.check, ""]
    if bench.stages:
        lines += stage_ceiling(bench.stages, res)
    if bench.cold:
        lines += [
            "Cold runs, start-up included (a fresh interpreter, imports, the worker pool), "
            "one run each on the same corpus:",
            "",
            "| cold run | wall s | audio-s / wall-s | peak RSS largest process MB "
            "| peak tree RSS MB |",
            "|---|---:|---:|---:|---:|",
        ]
        cold_titles = {
            "spectroprep": "`python -m spectroprep build --jobs 2` (the 1x run below)",
            "lhotse": "Lhotse, NumpyHdf5Writer, num_jobs 2, its default spawned pool "
            "(OMP_NUM_THREADS=1)",
        }
        for key, run in bench.cold.items():
            lines.append(
                f"| {cold_titles[key]} | {run.wall:.2f} | {bench.audio_s / run.wall:,.0f} "
                f"| {run.peak_one:,.0f} | {run.peak_tree:,.0f} |"
                if not run.error
                else f"| {cold_titles[key]} | ERROR: {run.error.splitlines()[-1]} | | | |"
            )
        lines.append("")
    lines += [
        "### Size on disk",
        "",
        "| store | MB per audio hour | × float32 none | build wall s (1 run, jobs 2) |",
        "|---|---:|---:|---:|",
    ]
    sizes = res["mb_per_audio_hour"]
    base = sizes["float32 none"]
    for key, mb in sizes.items():
        label = f"spectroprep, {key}"
        if key.startswith("lhotse"):
            label = f"Lhotse, {WRITERS[key.replace(' ', '_')]}"
        wall = bench.size_walls.get(key)
        if key == "float32 none":
            wall = median(bench.walls.get("jobs2", []))
        lines.append(
            f"| {label} | {fmt(mb)} | {fmt(ratio(mb, base), '.2f')} | {fmt(wall, '.2f')} |"
        )
    lines += [
        f"| naive script, one .npy per window | {fmt(bench.sizes.get('naive'))} "
        f"| {fmt(ratio(bench.sizes.get('naive'), base), '.2f')} | |",
        "",
        "Apparent bytes of every file of the output (MB = 10^6 bytes) per hour of audio. "
        "spectroprep: `storage.dtype` and `storage.compression` overrides, nothing else "
        "changed; float32 none is the default build of the throughput table.",
        "",
        "### Random single reads",
        "",
        "| store | reads/s (median) | × Lhotse's fastest | per-pass reads/s |",
        "|---|---:|---:|---|",
    ]
    best = [v for k, v in res["random_single_reads"].items() if k.startswith("lhotse") and v]
    read_titles = {
        "spectroprep": "spectroprep default build, `ds[i]`",
        "lhotse_numpyhdf5": "Lhotse NumpyHdf5, `features.load(start, duration=1.0)`",
        "lhotse_lilcom": "Lhotse LilcomChunky, `features.load(start, duration=1.0)`",
    }
    for key, title in read_titles.items():
        value = res["random_single_reads"][key]
        passes = ", ".join(f"{v:,.0f}" for v in bench.reads.get(key, [])) or "skipped"
        lines.append(
            f"| {title} | {fmt(value)} | {fmt(ratio(value, max(best, default=None)), '.2f')} "
            f"| {passes} |"
        )
    shape = bench.lhotse_shape
    lines += [
        "",
        f"{READS:,} random reads after {WARMUP_READS} warm-up reads per pass, "
        f"{bench.read_passes} pass(es) interleaved, page cache warm. Lhotse reads the same windows "
        f"as spectroprep's examples (every whole second of every recording"
        + (f", {shape[0]} frames x {shape[1]} bins" if shape else "")
        + "); its read cache is off, as by default. Target: spectroprep ≥ 3× Lhotse's "
        f"fastest reader: {met(res['random_single_reads']['ratio_over_lhotse'], 3.0)}.",
        "",
        "### Build peak memory",
        "",
        "| run | files | audio h | wall s | peak RSS largest process MB | peak tree RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    n = len(bench.paths)
    for key, files, h in (("help", 0, 0.0), ("1x", n, hours), ("4x", 4 * n, 4 * hours)):
        sampled = bench.rss.get(key)
        if sampled is None:
            continue
        title = "`python -m spectroprep --help` (interpreter + import)" if key == "help" else key
        if sampled.error:
            lines.append(f"| {title} | | | ERROR: {sampled.error.splitlines()[-1]} | | |")
            continue
        lines.append(
            f"| {title} | {files or '–'} | {h:.3f} | {sampled.wall:.2f} "
            f"| {sampled.peak_one:,.0f} | {sampled.peak_tree:,.0f} |"
        )
    rss = res["build_rss_mb"]
    lines += [
        "",
        "`python -m spectroprep build AUDIO --out OUT --labels-from-folders --jobs 2 -q` in a "
        "fresh interpreter; the 4x corpus holds 4 hard links to each 1x file under new names. "
        "VmRSS of the process and every descendant (the loky workers included) sampled every "
        "20 ms; the tree sum counts shared pages once per process. "
        f"4x / 1x (target: within 10 %): largest process {met(rss['largest_ratio'], 1.1, True)}"
        f"; tree {met(rss['tree_ratio'], 1.1, True)}.",
    ]
    if bench.notes:
        lines += ["", *bench.notes]
    if "real" in res:
        from real_compare import markdown as real_lines

        lines += ["", *real_lines(res["real"])]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    import build_stages
    from build_throughput import make_corpus

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path, help="scratch folder (e.g. bench-work/build)")
    ap.add_argument("--files", type=int, default=120, help="audio files (default 120)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds per file (default 30)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per build; median (default 5)")
    ap.add_argument(
        "--real-cache",
        type=Path,
        help="where the real-like corpus is kept between runs (default WORKDIR/../real-corpus)",
    )
    ap.add_argument("--real-repeats", type=int, default=3, help="real-like rounds (default 3)")
    ap.add_argument("--long-repeats", type=int, default=3, help="long-file rounds (default 3)")
    ap.add_argument("--no-real", action="store_true", help="skip the real-like measurements")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 8 files of 5 s, 1 repeat, no cold Lhotse run, a tiny real-like corpus",
    )
    ap.add_argument("--json", type=Path, required=True, help="write the figures here")
    ap.add_argument("--markdown", type=Path, required=True, help="write the report here")
    args = ap.parse_args(argv)
    if args.quick:
        args.files, args.seconds, args.repeats = 8, 5.0, 1
        args.real_repeats = args.long_repeats = 1
    t_start = time.perf_counter()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    audio = work / "corpus"
    paths = make_corpus(audio, args.files, args.seconds, flac=False)
    bench = Bench(work, paths, audio, args.repeats, cold_peer=not args.quick)
    log(f"corpus: {len(paths)} files, {bench.audio_s:,.0f} s; {bench.note}")
    kept = bench.throughput()
    bench.stages = build_stages.measure(audio)
    bench.codec_sizes()
    bench.random_reads(kept)
    del kept
    bench.memory()
    shutil.rmtree(audio)
    res = results(bench)
    if not args.no_real:  # the real-like corpus and the long files (real_compare.py)
        import real_compare

        cache = args.real_cache or work.resolve().parent / "real-corpus"
        res["real"] = real_compare.measure(
            work, cache, args.real_repeats, args.long_repeats, quick=args.quick
        )
    total = time.perf_counter() - t_start
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2) + "\n")
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(markdown(bench, res, args, total))
    log(f"whole run: {total:.0f} s; wrote {args.json} and {args.markdown}")
    errors = [run for run in (*bench.rss.values(), *bench.cold.values()) if run.error]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
