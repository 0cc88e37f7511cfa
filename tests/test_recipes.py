"""Recipes: each public corpus's published layout, made small in tmp_path with its
real header names, quoting and folders, builds with ``--recipe`` and nothing else;
labels, folds and splits come through, and the official split is leak-free."""

import csv

import pytest
from click.testing import CliRunner
from conftest import build, write_audio, write_esc50

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.errors import InputError, SpectroprepWarning


def manifest(out):
    with (out / "manifest.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def assert_no_source_in_two_splits(datasets):
    seen = {}
    for name, folder in datasets.items():
        for row in manifest(folder):
            assert seen.setdefault(row["source"], name) == name, row["source"]


def test_esc50(tmp_path):
    root = write_esc50(tmp_path / "ESC-50-master")
    result = CliRunner().invoke(
        cli, ["build", str(root), "--recipe", "esc50", "--out", str(tmp_path / "ds"), "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "--split-column fold --split-map 'test=1;rest=train'" in result.output
    ds = spectroprep.open_dataset(tmp_path / "ds")
    assert ds.classes == ["dog", "rain", "rooster"]
    by_file = {r["source"]: (r["label"], r["fold"], r["take"]) for r in manifest(ds.path)}
    assert by_file["2-102414-B-1.wav"] == ("rooster", "2", "B")
    done = spectroprep.shard(
        ds.path, tmp_path / "fold1", split_column="fold", split_map="test=1;rest=train"
    )
    assert {r["fold"] for r in manifest(done.datasets["test"])} == {"1"}
    assert_no_source_in_two_splits(done.datasets)


def test_fsd50k(tmp_path):
    root = tmp_path / "FSD50K"
    for k, name in enumerate(["64760", "16399", "16401"]):
        write_audio(root / "FSD50K.dev_audio" / f"{name}.wav", 1.0, 44100, seed=k)
    write_audio(root / "FSD50K.eval_audio" / "37199.wav", 2.0, 44100, seed=9)
    truth = root / "FSD50K.ground_truth"
    truth.mkdir()
    (truth / "dev.csv").write_text(
        "fname,labels,mids,split\n"
        '64760,"Electric_guitar,Guitar,Music","/m/02sgy,/m/0342h,/m/04rlf",train\n'
        '16399,"Electric_guitar,Guitar","/m/02sgy,/m/0342h",train\n'
        "16401,Music,/m/04rlf,val\n"
    )
    (truth / "eval.csv").write_text('fname,labels,mids\n37199,"Music,Guitar","/m/04rlf,/m/0342h"\n')
    out = build(root, tmp_path / "ds", recipe="fsd50k")
    ds = spectroprep.open_dataset(out)
    assert ds.label_kind == "multi" and ds.classes == ["Electric_guitar", "Guitar", "Music"]
    splits = {r["source"]: r["split"] for r in manifest(out)}
    assert splits == {
        "FSD50K.dev_audio/16399.wav": "train",
        "FSD50K.dev_audio/16401.wav": "val",
        "FSD50K.dev_audio/64760.wav": "train",
        "FSD50K.eval_audio/37199.wav": "test",
    }
    done = spectroprep.shard(out, tmp_path / "splits", split_column="split")
    assert sorted(done.datasets) == ["test", "train", "val"]
    assert_no_source_in_two_splits(done.datasets)


def test_speech_commands(tmp_path):
    root = tmp_path / "speech_commands_v0.02"
    files = ["yes/0a7c2a8d_nohash_0.wav", "yes/0a7c2a8d_nohash_1.wav", "no/1b4c9b89_nohash_0.wav",
             "no/0a7c2a8d_nohash_2.wav", "yes/c1d39ce8_nohash_0.wav"]  # fmt: skip
    for k, name in enumerate(files):
        write_audio(root / name, 1.0, 16000, seed=k)
    write_audio(root / "_background_noise_" / "white_noise.wav", 3.0, 16000, seed=7)
    (root / "validation_list.txt").write_text("no/1b4c9b89_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("yes/c1d39ce8_nohash_0.wav\n")
    out = build(root, tmp_path / "ds", recipe="speech-commands")
    ds = spectroprep.open_dataset(out)
    assert ds.classes == ["no", "yes"] and len(ds) == 5  # no background noise
    rows = {r["source"]: (r["label"], r["split"], r["speaker"]) for r in manifest(out)}
    assert rows["no/1b4c9b89_nohash_0.wav"] == ("no", "validation", "1b4c9b89")
    assert rows["yes/c1d39ce8_nohash_0.wav"] == ("yes", "testing", "c1d39ce8")
    assert rows["yes/0a7c2a8d_nohash_1.wav"] == ("yes", "train", "0a7c2a8d")


def test_gtzan(tmp_path):
    root = tmp_path / "gtzan"
    for genre in ("blues", "jazz"):
        for k in range(2):
            write_audio(root / "genres" / genre / f"{genre}.0000{k}.wav", 2.0, 22050, seed=k)
    out = build(root, tmp_path / "ds", recipe="gtzan")
    ds = spectroprep.open_dataset(out)
    assert ds.classes == ["blues", "jazz"]
    assert {r["source"].split("/")[0] for r in manifest(out)} == {"blues", "jazz"}


def test_dcase_sed(tmp_path):
    root = tmp_path / "dcase"
    write_audio(root / "audio" / "a.wav", 3.0, 16000, seed=1)
    write_audio(root / "audio" / "b.wav", 2.0, 16000, seed=2)
    (root / "metadata").mkdir()
    (root / "metadata" / "train.tsv").write_text(
        "filename\tonset\toffset\tevent_label\na.wav\t0.2\t1.4\tSpeech\na.wav\t2.1\t2.8\tDog\n"
    )
    out = build(root, tmp_path / "ds", recipe="dcase-sed")
    ds = spectroprep.open_dataset(out, targets="frames")
    assert ds.label_kind == "events" and ds.classes == ["Dog", "Speech"]
    assert ds.get_batch(range(len(ds)))[1].shape[2] == 2


def test_a_recipe_refuses_options_it_sets_itself(tmp_path):
    write_audio(tmp_path / "a.wav", 1.0, 16000)
    with pytest.raises(InputError, match="reads the labels and metadata itself: leave out labels"):
        spectroprep.build(tmp_path, tmp_path / "ds", recipe="gtzan", labels=tmp_path / "x.csv")


def test_a_corpus_in_another_layout_is_named(tmp_path):
    write_audio(tmp_path / "audio" / "a.wav", 1.0, 16000)
    with pytest.raises(InputError, match=r"esc50\.csv: cannot read"):
        build(tmp_path, tmp_path / "ds", recipe="esc50")
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "esc50.csv").write_text(
        "filename,fold,target,category,esc10,src_file,take\nb.wav,1,0,dog,True,1,A\n"
    )
    with pytest.raises(InputError, match=rf"esc50\.csv:2: b\.wav: no such file in {tmp_path}"):
        build(tmp_path, tmp_path / "ds", recipe="esc50")


def test_urbansound8k(tmp_path):
    root = tmp_path / "UrbanSound8K"
    rows = [
        ("100032-3-0-0.wav", 100032, 0.0, 0.317551, 1, 5, 3, "dog_bark"),
        ("100263-2-0-117.wav", 100263, 58.5, 62.5, 1, 5, 2, "children_playing"),
        ("100263-2-0-121.wav", 100263, 60.5, 64.5, 1, 5, 2, "children_playing"),
        ("100648-1-0-0.wav", 100648, 4.823, 5.471, 2, 10, 1, "car_horn"),
    ]
    for k, row in enumerate(rows):
        seconds = min(4.0, row[3] - row[2])
        write_audio(root / "audio" / f"fold{row[5]}" / row[0], seconds, 44100, seed=k, channels=2)
    (root / "metadata").mkdir()
    with (root / "metadata" / "UrbanSound8K.csv").open("w", newline="") as f:
        header = ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"]
        csv.writer(f).writerows([header, *rows])
    out = build(root, tmp_path / "ds", recipe="urbansound8k")
    ds = spectroprep.open_dataset(out)
    assert ds.classes == ["car_horn", "children_playing", "dog_bark"]
    by_file = {
        r["source"]: (r["label"], r["fold"], r["fsID"], r["slice_start"]) for r in manifest(out)
    }
    assert by_file["fold5/100263-2-0-121.wav"] == ("children_playing", "5", "100263", "60.5")
    done = spectroprep.shard(
        out, tmp_path / "cv", split_column="fold", split_map="test=10;rest=train"
    )
    assert {r["fold"] for r in manifest(done.datasets["test"])} == {"10"}
    assert_no_source_in_two_splits(done.datasets)


def test_audioset(tmp_path):
    root = tmp_path / "audioset"
    (root).mkdir()
    (root / "class_labels_indices.csv").write_text(
        "index,mid,display_name\n"
        '0,/m/09x0r,"Speech"\n'
        '1,/m/05zppz,"Male speech, man speaking"\n'
        '2,/t/dd00088,"Gush"\n'
    )
    (root / "balanced_train_segments.csv").write_text(
        "# Segments csv created Sun Mar  5 10:54:31 2017\n"
        "# num_ytids=3, num_segs=3, num_unique_labels=3, num_positive_labels=5\n"
        "# YTID, start_seconds, end_seconds, positive_labels\n"
        '--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"\n'
        '--ZhevVpy1s, 50.000, 60.000, "/m/05zppz"\n'
        '--aE2O5G5WE, 0.000, 10.000, "/m/09x0r,/m/05zppz"\n'
    )
    (root / "eval_segments.csv").write_text(
        "# YTID, start_seconds, end_seconds, positive_labels\n"
        '-0RWZT-miFs, 420.000, 430.000, "/t/dd00088"\n'
    )
    write_audio(root / "audio" / "balanced" / "--PJHxphWEs.wav", 2.0, 32000, seed=1)
    write_audio(root / "audio" / "balanced" / "Y--ZhevVpy1s.flac", 2.0, 48000, seed=2)
    write_audio(root / "audio" / "eval" / "-0RWZT-miFs_420.wav", 2.0, 44100, seed=3)
    with pytest.warns(SpectroprepWarning, match="1 of 4 AudioSet segments have no clip"):
        out = build(root, tmp_path / "ds", recipe="audioset")
    ds = spectroprep.open_dataset(out)
    assert ds.label_kind == "multi"
    assert ds.classes == ["Gush", "Male speech, man speaking", "Speech"]
    rows = {r["source"]: (r["label"], r["set"]) for r in manifest(out)}
    assert rows["audio/balanced/--PJHxphWEs.wav"] == ("Gush;Speech", "balanced_train")
    assert rows["audio/balanced/Y--ZhevVpy1s.flac"] == (
        "Male speech, man speaking",
        "balanced_train",
    )
    assert rows["audio/eval/-0RWZT-miFs_420.wav"] == ("Gush", "eval")


def test_dcase_sed_names_a_bad_row_of_its_table(tmp_path):
    root = tmp_path / "dcase"
    write_audio(root / "a.wav", 2.0, 16000)
    (root / "events.tsv").write_text(
        "filename\tonset\toffset\tevent_label\na.wav\t0.2\t1.4\tdog\tx\n"
    )
    with pytest.raises(InputError, match=r"events\.tsv:2: 5 cell\(s\) where the header has 4"):
        build(root, tmp_path / "ds", recipe="dcase-sed")


def test_audioset_clips_named_with_their_times_are_found(tmp_path):
    root = tmp_path / "audioset"
    root.mkdir()
    (root / "class_labels_indices.csv").write_text('index,mid,display_name\n0,/m/09x0r,"Speech"\n')
    (root / "eval_segments.csv").write_text(
        "# YTID, start_seconds, end_seconds, positive_labels\n"
        '--PJHxphWEs, 30.000, 40.000, "/m/09x0r"\n'
    )
    write_audio(root / "clips" / "Y--PJHxphWEs_30.000_40.000.wav", 1.0, 32000)
    out = build(root, tmp_path / "ds", recipe="audioset")
    assert [r["source"] for r in manifest(out)] == ["clips/Y--PJHxphWEs_30.000_40.000.wav"]
