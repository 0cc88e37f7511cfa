"""``spectroprep info`` answers "what is in my dataset, and is any of it a mistake?"."""

import json

from conftest import run_command, write_audio

import spectroprep


def _corpus(root):
    """Recordings of 1.6-3.3 s at 44.1/48 kHz, stereo and mono; one broken file."""
    write_audio(root / "dog" / "bark.flac", 3.3, 48000, channels=2, seed=1)
    write_audio(root / "dog" / "growl.ogg", 1.6, 44100, seed=2)
    write_audio(root / "cat" / "meow.wav", 2.0, 44100, channels=2, seed=3)
    write_audio(root / "cat" / "hiss.wav", 2.0004, 44100, seed=4)  # a 0.4 ms tail
    (root / "cat" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    return root


def test_info_shows_windows_padding_rejected_inputs_and_whose_statistics(tmp_path):
    audio = _corpus(tmp_path / "audio")
    out = spectroprep.build(
        audio, tmp_path / "ds", labels_from_folders=True, jobs=1, on_error="skip",
        config="logmel-16k",
    )  # fmt: skip
    done = run_command("info", out)
    assert done.returncode == 0, done.stderr
    lines = dict(line.strip().split(None, 1) for line in done.stdout.splitlines()[1:])
    assert lines["windows"] == "1 s every 1 s at 16000 Hz, preset logmel-16k"
    assert lines["stats"].endswith("(this dataset's)")
    assert lines["rejected"].startswith("1 input(s): cat/broken.wav: ")
    # bark: 3 full windows and 0.3 s; growl: 1 and 0.6 s; meow: 2; hiss: 2, its tail left out
    padding = (0.7 + 0.4) / 10
    assert lines["padding"].startswith(f"{padding:.1%} of the windows' audio is zero padding")
    assert "1 tail(s) shorter than segment.min_last left out" in lines["padding"]
    summary = json.loads(run_command("info", out, "--json").stdout)
    assert summary["examples"] == 10 and summary["audio_seconds"] == 8.9
    assert summary["padding"]["share"] == round(padding, 4)
    assert summary["padding"]["mostly_padding"] == 1  # bark's last window: 0.3 s of audio
    assert summary["rejected"]["count"] == 1 and summary["statistics_of"] is None
    assert summary["sample_rate"] == 16000 and summary["preset"] == "logmel-16k"


def test_a_split_says_it_shows_the_training_splits_statistics(tmp_path):
    audio = _corpus(tmp_path / "audio")
    out = spectroprep.build(audio, tmp_path / "ds", labels_from_folders=True, jobs=1,
                            on_error="skip")  # fmt: skip
    parts = tmp_path / "parts"
    done = run_command("shard", out, "--out", parts, "--split", "train=0.5,val=0.5", "-q")
    assert done.returncode == 0, done.stderr
    val = json.loads(run_command("info", parts / "val", "--json").stdout)
    whole = spectroprep.open_dataset(out)
    assert val["statistics_of"] == "train"
    assert val["audio_seconds"] < whole.manifest.duration.sum()  # its own, not the build's
    text = run_command("info", parts / "val").stdout
    assert "(split train's, recorded to normalise this one)" in text
    train = json.loads(run_command("info", parts / "train", "--json").stdout)
    assert train["statistics_of"] is None


def test_info_counts_examples_of_one_value_as_build_and_shard_record_them(tmp_path):
    import numpy as np
    import soundfile as sf

    audio = tmp_path / "audio"
    write_audio(audio / "street.flac", 2.0, 48000, channels=2, seed=5)
    sf.write(audio / "silence.wav", np.zeros((2 * 44100, 2)), 44100)  # digital silence
    out = spectroprep.build(audio, tmp_path / "ds", jobs=1)
    summary = json.loads(run_command("info", out, "--json").stdout)
    assert summary["constant_examples"] == 2
    assert "constant  2 example(s) of one value all over" in run_command("info", out).stdout
    copy = run_command("shard", out, "--out", tmp_path / "copy", "--shuffle", "-q")
    assert copy.returncode == 0, copy.stderr
    again = json.loads(run_command("info", tmp_path / "copy", "--json").stdout)
    assert again["constant_examples"] == 2
