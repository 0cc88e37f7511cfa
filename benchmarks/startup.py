"""Start-up of ``spectroprep build``: how long a fresh command takes before its first
shard task has run, beside the floors of the same machine in the same run.

A one-second WAV makes one shard, so the time until its data file appears (polled
every millisecond) is the start-up plus one tiny task; the whole command adds the
parent's description of the dataset. Floors: a bare interpreter, and an interpreter
that imports numpy. Interleaved repeats, medians.

Run: python benchmarks/startup.py [WORKDIR]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPEATS = 7


def _first_file(cmd: list[str], out: Path) -> tuple[float, float]:
    """(seconds until a data file exists under ``out``, seconds until the command ends)."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    while process.poll() is None:
        if first is None and out.is_dir() and any(out.glob("shards/*")):
            first = time.perf_counter() - start
        time.sleep(0.001)
    end = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return (end if first is None else first), end


def _run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(work: Path) -> dict[str, float]:
    audio = work / "startup-audio"
    audio.mkdir(parents=True, exist_ok=True)
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    sf.write(audio / "clip1.wav", tone, 16000, subtype="PCM_16")
    out = work / "startup-ds"
    python = sys.executable
    build = [python, "-m", "spectroprep", "build", str(audio), "--out", str(out), "-q"]
    runs: dict[str, list[float]] = {}
    for _ in range(REPEATS):
        for jobs in (1, 2):
            first, end = _first_file([*build, "--jobs", str(jobs)], out)
            runs.setdefault(f"first shard written, jobs {jobs}", []).append(first)
            runs.setdefault(f"whole command, jobs {jobs}", []).append(end)
        runs.setdefault("python -c pass", []).append(_run([python, "-c", "pass"]))
        runs.setdefault("python -c 'import numpy'", []).append(_run([python, "-c", "import numpy"]))
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    results = measure(work)
    for name, seconds in results.items():
        print(f"{name:32s} {seconds:6.3f} s")
    (work / "startup.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
