"""Bad input and a hostile disk: each fault gets a clear message naming the file,
and nothing already written is lost. Faults a worker process meets run the real
command in a subprocess, so a traceback from any process would show."""

from __future__ import annotations

import csv
import ctypes
import os
import resource
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import assert_same_examples, build, run_command, tree_checksums, write_audio

import spectroprep
from spectroprep.builder import runner
from spectroprep.cli.main import cli
from spectroprep.config import AudioConfig
from spectroprep.dataset.layout import JOURNAL, TEMP_MARK
from spectroprep.errors import InputError, SpectroprepWarning
from spectroprep.ingest.audio.file import probe, read_region

SMALL = ("--set", "storage.shard_examples=2", "--set", "storage.block_size=2")
BAD_NAME = os.fsdecode(b"clip\xff.wav")  # a file name that is not UTF-8


def cli_run(*args: object):
    """The command in-process; a crash with a traceback fails the test."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def good_clips(root: Path) -> Path:
    write_audio(root / "clip1.wav", 2.0, 16000, seed=1)
    write_audio(root / "clip2.flac", 3.0, 16000, seed=2)
    write_audio(root / "clip10.wav", 1.5, 22050, seed=3)
    return root


def truncated_wav(path: Path) -> Path:
    write_audio(path, 2.0, 16000, seed=7)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def flawed_inputs(root: Path) -> dict[str, str]:
    """Good clips plus one file of each fault the header pass finds: name -> reason."""
    good_clips(root)
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.flac").write_text("these are my notes, not audio\n")
    truncated_wav(root / "cut.wav")
    write_audio(root / "wide.wav", 1.0, 16000, channels=6)
    # soundfile cannot even open such a name: written under another, then renamed
    write_audio(root / "renamed.wav", 1.0, 16000).rename(root / BAD_NAME)
    return {
        "cut.wav": "truncated: the header promises 32000 frames, the file holds 159",
        "empty.wav": "empty file (0 bytes)",
        "notes.flac": "cannot read audio header (Format not recognised.)",
        "wide.wav": "6 channels, more than audio.max_channels = 2",
        "clip\\xff.wav": "file name is not UTF-8 (rename it)",
    }


def test_the_header_pass_reports_every_unusable_file_at_once(tmp_path):
    reasons = flawed_inputs(tmp_path / "audio")
    out = tmp_path / "ds"
    result = cli_run(
        "build", tmp_path / "audio", "--out", out, "--set", "audio.max_channels=2", "-q"
    )
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == "error: 5 unreadable input file(s):"
    for name, reason in reasons.items():
        assert any(f"audio/{name}: {reason}" in line for line in lines), name
    assert "--on-error skip" in lines[-1]
    assert not out.exists()  # stopped before anything was written


def test_skip_leaves_them_out_lists_them_and_builds_the_rest_exactly(tmp_path):
    reasons = flawed_inputs(tmp_path / "audio")
    out = tmp_path / "ds"
    result = cli_run(
        "build", tmp_path / "audio", "--out", out, "--set", "audio.max_channels=2",
        "--on-error", "skip", "-q", *SMALL,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (out / "rejected.csv").open(newline="", encoding="utf-8") as f:
        rejected = {row["path"]: row["reason"] for row in csv.DictReader(f)}
    assert rejected.keys() == reasons.keys()
    for name, reason in reasons.items():
        assert rejected[name].startswith(reason), name
    overrides = [*SMALL[1::2], "audio.max_channels=2"]
    clean = build(good_clips(tmp_path / "good"), tmp_path / "clean", overrides=overrides)
    ours, theirs = tree_checksums(out), tree_checksums(clean)
    data = [rel for rel in theirs if rel.startswith("shards/")]
    assert data and all(ours[rel] == theirs[rel] for rel in data + ["manifest.csv"])
    info = spectroprep.open_dataset(out).info
    assert info["counts"]["rejected"] == 5 and info["provenance"]["inputs"]["files"] == 8
    assert cli_run("verify", out).exit_code == 0


def test_wide_files_are_mixed_down_by_default(tmp_path):
    clip = write_audio(tmp_path / "audio" / "wide.wav", 1.0, 16000, channels=6)
    x, ds = sf.read(clip, dtype="float32")[0], build(clip, tmp_path / "ds")
    assert len(ds_examples := spectroprep.open_dataset(ds)) == 1
    assert np.isfinite(ds_examples[0][0]).all() and x.shape == (16000, 6)
    # the same features as the channel mean written as a mono file
    mono = tmp_path / "mono" / "mean.wav"
    mono.parent.mkdir()
    sf.write(mono, x.mean(axis=1, dtype=np.float32), 16000, subtype="FLOAT")
    mixed = spectroprep.open_dataset(build(mono, tmp_path / "mono-ds"))
    np.testing.assert_allclose(ds_examples[0][0], mixed[0][0], rtol=1e-5, atol=1e-5)


def test_nan_and_inf_samples_are_refused_with_their_time(tmp_path):
    x = np.zeros((16000, 2), dtype=np.float32)
    x[8000, 1] = np.nan
    x[12000, 0] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(
        InputError, match=r"nan\.wav: 2 NaN or infinite sample\(s\), the first at 0\.500 s"
    ):
        read_region(path, probe(path), 0, 16000, AudioConfig(16000, "mean"))


@pytest.mark.parametrize(
    ("seconds", "pad", "examples", "rejected"),
    [
        (0.3, "zero", 1, None),
        (0.3, "drop", 0, "shorter than one window"),
        (0.0, "zero", 0, "no audio frames"),
    ],
)
def test_short_files_are_padded_or_skipped_per_config(tmp_path, seconds, pad, examples, rejected):
    audio = good_clips(tmp_path / "audio")
    write_audio(audio / "short.wav", seconds, 16000)
    ds = spectroprep.open_dataset(build(audio, tmp_path / "ds", overrides=[f"segment.pad={pad}"]))
    shorts = [
        row
        for row in (tmp_path / "ds" / "manifest.csv").read_text().splitlines()
        if "short.wav" in row
    ]
    assert len(shorts) == examples
    listed = (tmp_path / "ds" / "rejected.csv").read_text() if rejected else ""
    assert (rejected or "") in listed and ("short.wav" in listed) == bool(rejected)
    assert len(ds) > 0


def test_silent_files_are_kept_with_finite_features(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "silence.wav", np.zeros(24000), 16000, subtype="PCM_16")
    for preset in ("default", "logmel-16k"):
        ds = spectroprep.open_dataset(build(audio, tmp_path / preset, config=preset))
        x, _ = ds.get_batch(range(len(ds)))
        assert len(ds) == 2 and np.isfinite(x).all()


def test_names_with_spaces_and_other_characters_go_through(tmp_path):
    audio = tmp_path / "my audio"
    write_audio(audio / "dog barks" / "take 1 (final).wav", 1.0, 16000)
    write_audio(audio / "cat's" / "café, 2.flac", 1.0, 16000, seed=2)
    out = tmp_path / "out dir"
    result = cli_run("build", audio, "--out", out, "--labels-from-folders", "-q")
    assert result.exit_code == 0, result.output
    with (out / "manifest.csv").open(newline="", encoding="utf-8") as f:
        sources = [row["source"] for row in csv.DictReader(f)]
    assert sources == ["cat's/café, 2.flac", "dog barks/take 1 (final).wav"]
    assert cli_run("verify", out).exit_code == 0


def test_a_labels_file_naming_missing_audio_is_refused(tmp_path):
    audio = good_clips(tmp_path / "audio")
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\nclip1.wav,dog\nclip2.flac,cat\nclip3.wav,dog\nclip10.wav,cat\n")
    result = cli_run("build", audio, "--out", tmp_path / "ds", "--labels", labels, "-q")
    assert result.exit_code == 2
    assert result.output == (
        f"error: {labels}:4: clip3.wav is not among the input audio "
        f"(paths are relative to {audio})\n"
    )
    assert not (tmp_path / "ds").exists()


def test_files_that_fail_in_decoding_are_reported_by_their_shard_task(tmp_path):
    """A FLAC cut short passes the header pass (its header still promises every
    frame), and so do NaN samples: only the worker decoding them finds out."""
    audio = good_clips(tmp_path / "audio")
    cut = write_audio(audio / "clip3.flac", 4.0, 16000, seed=4)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 3])
    x = np.full(16000, 0.1, dtype=np.float32)
    x[4000] = np.nan
    sf.write(audio / "clip20.wav", x, 16000, subtype="FLOAT")
    out = tmp_path / "ds"
    failed = run_command("build", audio, "--out", out, "--jobs", 2, "-q", *SMALL)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    first, *rest, hint = failed.stderr.splitlines()
    # libsndfile's reason depends on where the cut falls in the region read
    assert (
        first == f"error: {audio}/clip20.wav: 1 NaN or infinite sample(s), the first at 0.250 s"
        or first.startswith(f"error: {cut}: cannot decode audio (")
    )
    assert hint.endswith(
        "run the same command with --on-error skip --resume to build without "
        "the file(s), or fix them and build again with --overwrite)"
    )
    assert not (out / "dataset.json").exists() and not list(out.rglob(f"*{TEMP_MARK}*"))

    skipped = run_command(
        "build", audio, "--out", out, "-j", 2, "-q", *SMALL, "--on-error", "skip", "--resume"
    )
    assert skipped.returncode == 0, skipped.stderr
    warned = [line for line in skipped.stderr.splitlines() if line.startswith("warning: left out")]
    assert len(warned) == 2
    with (out / "rejected.csv").open(newline="") as f:
        rejected = {row["path"]: row["reason"] for row in csv.DictReader(f)}
    assert rejected.keys() == {"clip3.flac", "clip20.wav"}
    assert rejected["clip3.flac"].startswith("cannot decode audio (")
    assert rejected["clip20.wav"] == "1 NaN or infinite sample(s), the first at 0.250 s"
    cut.unlink()
    (audio / "clip20.wav").unlink()
    # the left-out files' shards are written without them, the others as planned
    clean = build(audio, tmp_path / "clean", overrides=SMALL[1::2])
    assert_same_examples(out, clean)
    assert not (out / JOURNAL).exists()


def _drop_root_file_access() -> None:
    """preexec_fn: take CAP_DAC_OVERRIDE out of the bounding set, so that even root
    obeys file modes in the child (as every other user does)."""
    if os.geteuid() == 0:
        pr_capbset_drop, cap_dac_override = 24, 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_capbset_drop, cap_dac_override, 0, 0, 0) != 0:
            os._exit(99)


@pytest.mark.parametrize("where", ["existing", "inside"])
def test_an_output_folder_that_is_not_writable_is_refused(tmp_path, where):
    audio = good_clips(tmp_path / "audio")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    out = locked if where == "existing" else locked / "ds"
    result = run_command("build", audio, "--out", out, "-q", preexec_fn=_drop_root_file_access)
    if result.returncode == 99:
        pytest.skip("cannot drop root's file access override here")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"error: {out}: cannot prepare the output folder (Permission denied)"
    )
    assert list(locked.iterdir()) == []


def _file_size_limit(limit: int):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize(("fmt", "limit"), [("hdf5", 300_000), ("npy", 80_000)])
def test_a_full_disk_stops_cleanly_and_resume_finishes(tmp_path, fmt, limit):
    """RLIMIT_FSIZE makes a write past ``limit`` bytes fail as a full disk does
    (EFBIG): a 4-example shard or one 104 kB example file is too large."""
    audio = good_clips(tmp_path / "audio")
    write_audio(audio / "long.wav", 12.0, 16000, seed=9)
    sizes = ("--set", "storage.shard_examples=4", "--set", "storage.block_size=4", "--format", fmt)
    out = tmp_path / "ds"
    limited = _file_size_limit(limit)
    full = run_command("build", audio, "--out", out, "-j", 2, "-q", *sizes, preexec_fn=limited)
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "cannot write (File too large)" in full.stderr and "--resume" in full.stderr
    assert not (out / "dataset.json").exists() and not list(out.rglob(f"*{TEMP_MARK}*"))
    assert cli_run("verify", out).exit_code == 1  # incomplete, and verify says so

    resumed = run_command("build", audio, "--out", out, "-j", 2, "-q", *sizes, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    clean = build(audio, tmp_path / "clean", overrides=sizes[1:4:2], format=fmt)
    ours, theirs = tree_checksums(out), tree_checksums(clean)
    assert ours.keys() == theirs.keys()
    assert all(ours[rel] == digest for rel, digest in theirs.items() if rel != "dataset.json")


def test_debug_shows_the_traceback_of_an_expected_error(tmp_path):
    plain = run_command("build", tmp_path / "missing", "--out", tmp_path / "ds")
    debug = run_command("--debug", "build", tmp_path / "missing", "--out", tmp_path / "ds")
    assert plain.returncode == debug.returncode == 2
    assert "Traceback" not in plain.stderr and "Traceback (most recent call last)" in debug.stderr
    assert plain.stderr.strip().splitlines()[-1] == debug.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
@pytest.mark.parametrize("per_file", [1, 3])
def test_a_file_failing_in_decoding_costs_only_its_own_shards(tmp_path, monkeypatch, fmt, per_file):
    """No shard without the bad file is computed twice; ids and file names close up
    behind it (per_file 1: its shards vanish, the later files are renamed)."""
    audio = tmp_path / "audio"
    for i, seconds in enumerate([2.0, 3.0, 2.0, 1.0, 3.0], start=1):
        write_audio(audio / f"clip{i}.wav", seconds, 16000, seed=i)
    x = np.full(2 * 16000, 0.1, dtype=np.float32)
    x[20000] = np.inf
    sf.write(audio / "clip3.wav", x, 16000, subtype="FLOAT")  # the middle file, 2 windows
    sets = [f"storage.shard_examples={per_file}", f"storage.block_size={per_file}"]
    calls = []
    real = runner.run_task
    monkeypatch.setattr(
        runner, "run_task", lambda task, *a: calls.append(task.index) or real(task, *a)
    )
    with pytest.warns(SpectroprepWarning, match=r"left out .*clip3\.wav: 1 NaN or infinite"):
        out = build(audio, tmp_path / "ds", overrides=sets, format=fmt, on_error="skip", jobs=1)
    planned = -(-11 // per_file)  # 11 windows, clip3.wav's are the 6th and 7th
    sizes = [11 // planned + (i < 11 % planned) for i in range(planned)]
    holding_clip3 = {
        i for i in range(planned) if {5, 6} & set(range(sum(sizes[:i]), sum(sizes[: i + 1])))
    }
    assert set(calls) == set(range(planned))
    # a shard where clip3.wav decoded is written again without it; no other is redone
    assert {i for i in calls if calls.count(i) > 1} <= holding_clip3
    files = spectroprep.open_dataset(out).info["files"]
    removed = 2 if per_file == 1 else 0  # shards that held clip3.wav alone
    assert len(files) == planned - removed
    (audio / "clip3.wav").unlink()
    assert_same_examples(out, build(audio, tmp_path / "clean", overrides=sets, format=fmt))
    with (out / "rejected.csv").open(newline="") as f:
        assert [row["path"] for row in csv.DictReader(f)] == ["clip3.wav"]
