"""Crash safety and --resume: a build killed at any moment never looks complete,
and a resumed build ends byte-identical to one that ran through."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import build, left_behind, process_marker, run_command, tree_checksums, write_audio

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.dataset.layout import JOURNAL, TEMP_MARK
from spectroprep.errors import DatasetError

# one example per shard: many small shards, so a kill lands mid-build
ONE_PER_FILE = ("storage.shard_examples=1", "storage.block_size=1")


def corpus_of(root: Path, files: int = 24, seconds: float = 2.0) -> Path:
    for i in range(1, files + 1):
        write_audio(root / f"clip{i}.wav", seconds, 16000, seed=i)
    return root


def command(audio: Path, out: Path, fmt: str, *extra: object) -> list[str]:
    sets = [arg for pair in ONE_PER_FILE for arg in ("--set", pair)]
    args = ["build", audio, "--out", out, "--format", fmt, "--jobs", 2, "-q", *sets, *extra]
    return [sys.executable, "-m", "spectroprep", *map(str, args)]


def finished_shards(out: Path) -> int:
    journal = out / JOURNAL
    return max(len(journal.read_text().splitlines()) - 1, 0) if journal.exists() else 0


def children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def worker_pids(pid: int) -> list[int]:
    """The worker processes of the build ``pid``: the children of its fork server."""
    servers = [c for c in children(pid) if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return [worker for server in servers for worker in children(server)]


def start_and_stop(
    cmd: list[str], out: Path, stop: signal.Signals | str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Run the build in its own process group and, once two shards are finished,
    send ``stop``: SIGKILL to the build alone (its workers are orphaned), SIGINT to
    the whole group, as Ctrl-C in a terminal does; "worker" SIGKILLs one worker."""
    process = subprocess.Popen(
        cmd, start_new_session=True, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 120
    while finished_shards(out) < 2:
        assert process.poll() is None, f"the build ended early: {process.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    if stop == "worker":
        os.kill(worker_pids(process.pid)[0], signal.SIGKILL)
    elif stop == signal.SIGKILL:
        os.kill(process.pid, stop)
    else:
        os.killpg(process.pid, stop)
    process.wait(timeout=60)
    return process


def assert_incomplete(out: Path) -> None:
    assert not (out / "dataset.json").exists()
    with pytest.raises(DatasetError, match="not a complete spectroprep dataset"):
        spectroprep.open_dataset(out)
    assert CliRunner().invoke(cli, ["verify", str(out)]).exit_code == 1


def assert_same_dataset(ours: Path, theirs: Path) -> None:
    """Every file byte-identical, dataset.json apart from the command it records."""
    a, b = tree_checksums(ours), tree_checksums(theirs)
    assert a.keys() == b.keys()
    assert [rel for rel in a if a[rel] != b[rel]] == ["dataset.json"]
    infos = [json.loads((d / "dataset.json").read_text()) for d in (ours, theirs)]
    for info in infos:
        info["provenance"].pop("command")
    assert infos[0] == infos[1]


def journaled_paths(out: Path) -> set[str]:
    """Files the journal of a killed build records; the kill may have torn its last
    line, which the journal itself ignores on --resume."""
    *whole, last = (out / JOURNAL).read_text().splitlines()[1:]
    paths = {json.loads(line)["record"]["path"] for line in whole}
    with contextlib.suppress(json.JSONDecodeError):
        paths.add(json.loads(last)["record"]["path"])
    return paths


def shard_times(out: Path) -> dict[str, int]:
    return {
        entry.relative_to(out).as_posix(): entry.stat().st_mtime_ns
        for entry in sorted((out / "shards").glob("*.h5")) + sorted((out / "blocks").glob("*"))
    }


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_sigkill_mid_build_then_resume_equals_a_clean_build(tmp_path, fmt):
    audio = corpus_of(tmp_path / "audio")
    out = tmp_path / "ds"
    env, marker = process_marker()
    killed = start_and_stop(command(audio, out, fmt), out, signal.SIGKILL, env)
    assert killed.returncode == -signal.SIGKILL
    assert left_behind(marker) == []  # its workers end with it
    assert_incomplete(out)
    journaled = journaled_paths(out)
    before = shard_times(out)

    resumed = subprocess.run(command(audio, out, fmt, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    clean = build(audio, tmp_path / "clean", overrides=ONE_PER_FILE, format=fmt)
    assert_same_dataset(out, clean)
    after = shard_times(out)
    assert journaled and all(after[rel] == before[rel] for rel in journaled)  # reused, not redone
    assert not (out / JOURNAL).exists()
    assert json.loads((out / "dataset.json").read_text())["provenance"]["command"][-1] != "--resume"


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_ctrl_c_stops_the_workers_cleans_up_and_says_how_to_resume(tmp_path, fmt):
    audio = corpus_of(tmp_path / "audio")
    out = tmp_path / "ds"
    stopped = start_and_stop(command(audio, out, fmt), out, signal.SIGINT)
    stderr = stopped.stderr.read()
    assert stopped.returncode == 130
    assert stderr.splitlines() == [
        f"error: interrupted; finished shards are kept in {out}: run the same command "
        "with --resume to go on"
    ]
    assert not list(out.rglob(f"*{TEMP_MARK}*"))
    assert_incomplete(out)
    resumed = subprocess.run(command(audio, out, fmt, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_dataset(out, build(audio, tmp_path / "clean", overrides=ONE_PER_FILE, format=fmt))


def test_a_worker_that_dies_stops_the_build_with_one_line_and_resume_finishes(tmp_path):
    audio = corpus_of(tmp_path / "audio")
    out = tmp_path / "ds"
    stopped = start_and_stop(command(audio, out, "hdf5"), out, "worker")
    assert stopped.returncode == 1
    assert stopped.stderr.read().splitlines() == [
        "error: a worker process died: killed, or out of memory (exit codes {SIGKILL(-9)})",
        "(finished shards are kept: run the same command with --resume)",
    ]
    assert_incomplete(out)
    resumed = subprocess.run(
        command(audio, out, "hdf5", "--resume"), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    clean = build(audio, tmp_path / "clean", overrides=ONE_PER_FILE)
    assert_same_dataset(out, clean)


@pytest.fixture
def unfinished(tmp_path) -> tuple[Path, Path]:
    """An unfinished build, made without a race: a FLAC cut short late in the natural
    order fails when decoded, after the shards before it were written."""
    audio = corpus_of(tmp_path / "audio", files=6, seconds=2.0)
    cut = write_audio(audio / "clip9.flac", 3.0, 16000, seed=9)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 3])
    out = tmp_path / "ds"
    failed = run_command(*command(audio, out, "hdf5")[3:], "--jobs", 1)
    assert failed.returncode == 2 and "clip9.flac: cannot decode audio" in failed.stderr
    assert finished_shards(out) >= 12
    return audio, out


def test_resume_refuses_other_settings_or_inputs_and_touches_nothing(unfinished):
    audio, out = unfinished
    before = tree_checksums(out)
    sets = [arg for pair in ONE_PER_FILE for arg in ("--set", pair)]
    base = ["build", audio, "--out", out, "--jobs", 1, "-q", "--resume", *sets]

    def refused(*extra: object) -> str:
        result = CliRunner().invoke(cli, [str(a) for a in (*base, *extra)])
        assert result.exit_code == 1 and not isinstance(result.exception, Exception), result.output
        assert result.output.startswith(f"error: {out}: cannot resume, the build there had ")
        return result.output

    assert "changed: spectrogram.n_fft 512 -> 1024" in refused("--set", "spectrogram.n_fft=1024")
    assert "changed: storage.format 'hdf5' -> 'npy'" in refused("--format", "npy")
    write_audio(audio / "clip7.wav", 1.0, 16000)
    assert "changed: input file(s) added: clip7.wav" in refused()
    (audio / "clip7.wav").unlink()
    os.utime(audio / "clip2.wav", ns=(1, 1))
    assert "input file(s) changed (size or modification time): clip2.wav" in refused()
    assert tree_checksums(out) == before

    result = CliRunner().invoke(cli, [str(a) for a in (*base, "--overwrite")])
    assert result.exit_code == 2 and "--resume and --overwrite exclude each other" in result.output


def test_resume_with_skip_leaves_the_bad_file_out_and_reuses_the_shards_before_it(unfinished):
    audio, out = unfinished
    sets = [arg for pair in ONE_PER_FILE for arg in ("--set", pair)]
    before = shard_times(out)
    result = run_command(
        "build", audio, "--out", out, "-j", 1, "-q", "--resume", "--on-error", "skip", *sets
    )
    assert result.returncode == 0, result.stderr
    after = shard_times(out)
    kept = [rel for rel in before if after.get(rel) == before[rel]]
    assert len(kept) == 12  # the 6 two-second clips before clip9.flac
    (audio / "clip9.flac").unlink()
    clean = build(audio, out.parent / "clean", overrides=ONE_PER_FILE)
    ours, theirs = tree_checksums(out), tree_checksums(clean)
    assert [rel for rel in theirs if ours.get(rel) != theirs[rel]] == ["dataset.json"]
    assert ours.keys() - theirs.keys() == {"rejected.csv"}


def test_resume_where_there_is_nothing_to_resume(tmp_path):
    audio = corpus_of(tmp_path / "audio", files=2, seconds=1.0)
    fresh = build(audio, tmp_path / "fresh", resume=True)  # no folder yet: a plain build
    assert len(spectroprep.open_dataset(fresh)) == 2
    before = tree_checksums(fresh)
    assert build(audio, fresh, resume=True) == fresh  # complete: nothing to do
    assert tree_checksums(fresh) == before
    result = run_command("build", audio, "--out", fresh, "--resume", "--set", "segment.hop=0.5")
    assert result.returncode == 1
    assert "holds a complete dataset built with another config" in result.stderr

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = run_command("build", audio, "--out", other, "--resume")
    assert result.returncode == 1 and "no unfinished build to resume" in result.stderr
    assert (other / "notes.txt").read_text() == "mine"
