"""``verify`` beside integrity: what is probably a mistake (warnings, failures only with
--strict), a user's own files in the dataset folder, folders of splits, recompute
figures."""

import json

import numpy as np
import soundfile as sf
from conftest import run_command, write_audio

import spectroprep


def _dataset(tmp_path):
    """A 48 kHz stereo FLAC, a 44.1 kHz OGG whose last window is mostly padding, a file
    of digital silence, a class of one example and a broken input (skipped)."""
    audio = tmp_path / "audio"
    write_audio(audio / "dog" / "bark.flac", 3.0, 48000, channels=2, seed=1)
    write_audio(audio / "dog" / "growl.ogg", 2.2, 44100, seed=2)
    (audio / "quiet").mkdir()
    sf.write(audio / "quiet" / "room.wav", np.zeros((44100, 2)), 44100)
    (audio / "dog" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVE")
    return spectroprep.build(
        audio, tmp_path / "ds", labels_from_folders=True, jobs=1, on_error="skip"
    )


def test_probable_mistakes_are_warnings_and_fail_only_with_strict(tmp_path):
    out = _dataset(tmp_path)
    done = run_command("verify", out)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = done.stderr
    assert "1 example(s) hold one value throughout (silence, or nothing but padding): id 7" in (
        warnings
    )
    assert "manifest.csv: 1 example(s) are more than half zero padding" in warnings
    assert "class(es) with fewer than 5 examples: quiet 1" in warnings
    assert "rejected.csv: the build rejected 1 input(s)" in warnings
    assert done.stdout.strip().endswith("ok: 7 examples in 1 files")
    assert done.stderr.count("warning: ") == 4
    strict = run_command("verify", out, "--strict")
    assert strict.returncode == 1 and "failed: 4 warning(s) with --strict" in strict.stdout


def test_a_users_readme_and_notes_are_warnings_and_stay(tmp_path):
    out = _dataset(tmp_path)
    (out / "README.md").write_text("# my dataset\n")
    (out / "notes").mkdir()
    (out / "notes" / "todo.txt").write_text("relabel the cats\n")
    (out / "stray.npy").write_bytes(b"")  # looks like data: still a problem
    done = run_command("verify", out, "--json")
    report = json.loads(done.stdout)
    lines = [n["line"] for n in report["notes"]]  # left alone: not even --strict fails
    assert "README.md: not part of the dataset, left alone: a user's file" in lines
    assert "notes: not part of the dataset, left alone: a user's folder" in lines
    assert [p["line"] for p in report["problems"]] == [
        "stray.npy: not part of the dataset (dataset.json does not list it)"
    ]
    (out / "stray.npy").unlink()
    assert run_command("verify", out).returncode == 0
    strict = run_command("verify", out, "--strict")
    assert "README.md" in strict.stderr and "README.md" not in strict.stdout
    assert (out / "README.md").is_file() and (out / "notes" / "todo.txt").is_file()
    assert len(spectroprep.open_dataset(out)) == 7


def test_a_folder_of_splits_verifies_each_and_says_so(tmp_path):
    out = _dataset(tmp_path)
    parts = tmp_path / "parts"
    split = run_command("shard", out, "--out", parts, "--split", "train=0.6,val=0.4", "-q")
    assert split.returncode == 0, split.stderr
    done = run_command("verify", parts)
    assert done.returncode == 0, done.stdout
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == f"2 of 2 splits verified in {parts}"
    assert any(line.startswith("train: ok: ") for line in lines)
    assert any(line.startswith("val: ok: ") for line in lines)
    report = json.loads(run_command("verify", parts, "--json").stdout)
    assert set(report) == {"train", "val"} and all(r["ok"] for r in report.values())


def test_recompute_says_how_many_and_how_close(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "a.flac", 4.0, 48000, channels=2, seed=3)
    write_audio(audio / "b.ogg", 3.0, 44100, seed=4)
    out = spectroprep.build(audio, tmp_path / "ds", jobs=1)
    done = run_command("verify", out, "--recompute", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recomputed 3 of 3 example(s) from their source audio: max difference" in done.stdout
    report = json.loads(run_command("verify", out, "--recompute", "3", "--json").stdout)
    figures = report["recomputed"]
    assert figures["asked"] == figures["compared"] == 3
    assert 0 <= figures["max_relative_difference"] <= 1e-5
    assert 0 <= figures["max_abs_difference"] <= 1e-3  # log features span about 20
