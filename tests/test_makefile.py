"""The Makefile's targets for a user's own audio, run as a user runs them on a tiny
corpus: each prints the command it runs and stops on the command's error."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_audio

import spectroprep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    """``make ARGS`` in the repository, with this interpreter's environment as the
    Makefile's (and its install step taken as done)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed",
         f"BIN={Path(sys.executable).parent}", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip


@pytest.fixture
def audio(tmp_path):
    root = tmp_path / "my audio"  # a space, as users' folders have
    for k in range(3):
        write_audio(root / "dog" / f"bark{k}.flac", 2.2, 48000, channels=2, seed=k)
        write_audio(root / "cat" / f"meow{k}.ogg", 1.6, 44100, seed=10 + k)
    return root


def test_dataset_builds_verifies_summarises_and_draws(audio, tmp_path):
    out = tmp_path / "ds"
    done = make("dataset", f"AUDIO={audio}", f"OUT={out}", "FORMAT=npy", "JOBS=1")
    assert done.returncode == 0, done.stderr
    assert f'spectroprep build "{audio}" --out "{out}" --labels-from-folders' in done.stdout
    assert f'spectroprep verify "{out}"' in done.stdout and "ok:" in done.stdout
    assert "examples  " in done.stdout  # info's summary
    assert Path(f"{out}.preview.png").is_file()
    assert spectroprep.open_dataset(out).config.storage.format == "npy"

    split = make("split", f"DATASET={out}", f"OUT={tmp_path / 'parts'}", "SPLIT=train=0.5,test=0.5")
    assert split.returncode == 0, split.stderr
    assert {p.name for p in (tmp_path / "parts").iterdir()} >= {"train", "test"}
    verified = make("verify", f"DATASET={tmp_path / 'parts' / 'train'}")
    assert verified.returncode == 0 and "ok:" in verified.stdout
    drawn = make("preview", f"DATASET={out}", f"PNG={tmp_path / 'p.png'}")
    assert drawn.returncode == 0 and (tmp_path / "p.png").is_file()


def test_a_missing_variable_or_a_failing_command_stops_make(tmp_path):
    missing = make("dataset", f"AUDIO={tmp_path}")
    assert missing.returncode == 2 and "OUT= is missing" in missing.stderr
    failed = make("verify", f"DATASET={tmp_path / 'nothing'}")
    assert failed.returncode == 2  # make's own status for a failed command
    assert "spectroprep verify" in failed.stdout and "nothing" in failed.stdout + failed.stderr


def test_help_lists_every_target_with_its_variables():
    done = make("help")
    assert done.returncode == 0
    for target in ("dataset", "split", "verify", "preview", "demo", "test", "bench"):
        assert f"make {target}" in done.stdout
    assert "AUDIO=folder OUT=folder" in done.stdout
