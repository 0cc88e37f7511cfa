"""Inputs that are probably mistakes build, with one warning line each, counted."""

import pytest
from conftest import run_command, write_audio

import spectroprep
from spectroprep.errors import LabelWarning


def test_files_without_any_event_are_counted(tmp_path):
    audio = tmp_path / "audio"
    for k in range(3):
        write_audio(audio / f"scene{k}.flac", 2.0, 48000, channels=2, seed=k)
    table = tmp_path / "events.tsv"
    table.write_text("filename\tonset\toffset\tevent_label\nscene1.flac\t0.2\t0.9\tdog\n")
    with pytest.warns(
        LabelWarning,
        match=r"2 of 3 input\(s\) have no event in .*events\.tsv "
        r"and become examples of no class \(negatives\), e\.g\. scene0\.flac",
    ):
        spectroprep.build(audio, tmp_path / "ds", events=table, jobs=1)


def test_labels_differing_only_by_case_or_spaces_are_named(tmp_path):
    audio = tmp_path / "audio"
    for name in ("a", "b", "c"):
        write_audio(audio / f"{name}.ogg", 1.0, 44100, seed=ord(name))
    table = tmp_path / "labels.csv"
    table.write_text('path,label\na.ogg," Ambient "\nb.ogg,ambient\nc.ogg,Dog\n')
    done = run_command("build", audio, "--out", tmp_path / "ds", "--labels", table, "-q")
    assert done.returncode == 0, done.stderr
    assert ("warning: classes 'Ambient', 'ambient' differ only by case or surrounding "
            "spaces") in done.stderr  # fmt: skip
    assert spectroprep.open_dataset(tmp_path / "ds").classes == ["Ambient", "Dog", "ambient"]
