"""Tables as public corpora ship them: column mapping, delimiters, BOM and CRLF,
case-insensitive headers, one table for labels and metadata, and malformed rows
named by file and line."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import build, scene, write_audio, write_blocks, write_esc50

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.errors import ConfigError, InputError
from spectroprep.ingest.tables import delimiter_of
from spectroprep.verify import verify


def read_manifest(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def esc50(tmp_path):
    return write_esc50(tmp_path / "ESC-50-master")


def build_esc50(esc50, out, columns=("fold",)):
    return build(
        esc50 / "audio",
        out,
        labels=esc50 / "meta" / "esc50.csv",
        path_column="filename",
        label_column="category",
        metadata_columns=list(columns),
    )


def test_esc50_builds_from_its_own_table_with_folds(esc50, tmp_path):
    out = build_esc50(esc50, tmp_path / "ds", ("fold", "src_file"))
    with spectroprep.open_dataset(out) as ds:
        assert ds.classes == ["dog", "rain", "rooster"]
        assert ds.info["manifest"]["columns"][-2:] == ["fold", "src_file"]
    rows = read_manifest(out / "manifest.csv")
    by_source = {r["source"]: (r["label"], r["fold"], r["src_file"]) for r in rows}
    assert by_source["2-102414-B-1.wav"] == ("rooster", "2", "102414")
    assert by_source["3-104632-A-10.wav"] == ("rain", "3", "104632")
    split = spectroprep.shard(out, tmp_path / "folds", split_column="fold", jobs=1)
    assert sorted(split.datasets) == ["fold-1", "fold-2", "fold-3"]


def test_the_command_line_takes_the_same_columns(esc50, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "build", str(esc50 / "audio"), "--out", str(tmp_path / "ds"), "-j", "1",
            "--labels", str(esc50 / "meta" / "esc50.csv"), "--path-column", "filename",
            "--label-column", "Category", "--metadata-columns", "fold,esc10",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_manifest(tmp_path / "ds" / "manifest.csv")[0]["esc10"] == "True"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_semicolon_tab_bom_crlf_and_any_case_of_the_header(tmp_path, delimiter):
    audio = tmp_path / "audio"
    write_audio(audio / "a.flac", 1.0, 48000, seed=1, channels=2)
    write_audio(audio / "b.wav", 1.0, 16000, seed=2)
    text = delimiter.join(["Path", "LABEL", "Speaker"]) + "\r\n"
    text += f"a.flac{delimiter}cat{delimiter}s1\r\nb.wav{delimiter}dog{delimiter}s2\r\n"
    (tmp_path / "labels.txt").write_bytes(b"\xef\xbb\xbf" + text.encode())
    out = build(
        audio, tmp_path / "ds", labels=tmp_path / "labels.txt", metadata_columns=["speaker"]
    )
    rows = read_manifest(out / "manifest.csv")
    assert [(r["label"], r["speaker"]) for r in rows] == [("cat", "s1"), ("dog", "s2")]


def test_multi_label_cells_joined_by_commas_in_quotes(tmp_path):
    """FSD50K's ground truth: fname (a file's name without its extension),labels,mids,
    split, with quoted comma lists."""
    audio = tmp_path / "dev_audio"
    for k, name in enumerate(["64760", "16399", "16401"]):
        write_audio(audio / f"{name}.wav", 1.0, 44100, seed=k)
    (tmp_path / "dev.csv").write_text(
        "fname,labels,mids,split\n"
        '64760,"Electric_guitar,Guitar,Music","/m/02sgy,/m/0342h,/m/04rlf",train\n'
        '16399,"Electric_guitar,Guitar","/m/02sgy,/m/0342h",train\n'
        "16401,Music,/m/04rlf,val\n"
    )
    out = build(
        audio,
        tmp_path / "ds",
        labels=tmp_path / "dev.csv",
        path_column="fname",
        label_column="labels",
        label_sep=",",
        metadata_columns=["split"],
    )
    with spectroprep.open_dataset(out) as ds:
        assert ds.label_kind == "multi"
        assert ds.classes == ["Electric_guitar", "Guitar", "Music"]
        per_source = {r["source"]: r["label"] for r in read_manifest(out / "manifest.csv")}
        assert per_source["64760.wav"] == "Electric_guitar;Guitar;Music"
        assert np.array_equal(ds.labels.sum(axis=0), [2, 2, 2])


@pytest.mark.parametrize(
    "table, message",
    [
        ("path,label\na.wav,cat\nb.wav\n", r"labels\.csv:3: 1 cell\(s\) where the header has 2"),
        ("path,label\na.wav,cat,x\n", r"labels\.csv:2: 3 cell\(s\) where the header has 2"),
        ("path,label\n,cat\n", r"labels\.csv:2: empty path"),
        ("path,label\n../a.wav,cat\n", r"labels\.csv:2: \.\./a\.wav is outside the audio root"),
        ("path,Path\na.wav,a.wav\n", r"labels\.csv:1: column 'Path' is in the header twice"),
        (
            "path label\na.wav cat\n",
            r"missing column\(s\) path, label .*comma, a semicolon or a tab",
        ),
    ],
)
def test_a_malformed_table_is_named_by_file_and_line(tmp_path, table, message):
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", 1.0, 16000)
    write_audio(audio / "b.wav", 1.0, 16000, seed=1)
    (tmp_path / "labels.csv").write_text(table)
    with pytest.raises(InputError, match=message):
        build(audio, tmp_path / "ds", labels=tmp_path / "labels.csv")


def test_a_metadata_table_with_a_missing_cell_is_refused(tmp_path):
    """A left-out fold made a stray split named "fold-" before."""
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", 1.0, 16000)
    write_audio(audio / "b.wav", 1.0, 16000, seed=1)
    (tmp_path / "meta.csv").write_text("path,fold\na.wav,1\nb.wav\n")
    with pytest.raises(InputError, match=r"meta\.csv:3: 1 cell\(s\) where the header has 2"):
        build(audio, tmp_path / "ds", metadata=tmp_path / "meta.csv")


def test_a_listed_file_that_is_missing_names_the_folder(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", 1.0, 16000)
    (audio / "list.csv").write_text("path,label\na.wav,cat\nsub/b.wav,dog\n")
    with pytest.raises(InputError, match=rf"list\.csv:3: sub/b\.wav: no such file in {audio}$"):
        build(audio / "list.csv", tmp_path / "ds")


def test_metadata_columns_need_a_table(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", 1.0, 16000)
    with pytest.raises(InputError, match="--metadata-columns needs a table"):
        build(audio, tmp_path / "ds", metadata_columns=["fold"])


@pytest.mark.parametrize(
    "header, delimiter",
    [
        ("path,label", ","),
        ("path;label;fold", ";"),
        ("filename\tonset\toffset\tevent_label", "\t"),
        ('"a;b",label', ","),
        ("path", ","),
    ],
)
def test_the_delimiter_comes_from_the_header(header, delimiter):
    assert delimiter_of(header) == delimiter


def test_a_split_map_merges_folds_into_named_splits(esc50, tmp_path):
    out = build_esc50(esc50, tmp_path / "ds")
    done = spectroprep.shard(
        out, tmp_path / "cv", split_column="fold", split_map="train=1,2;test=3"
    )
    assert sorted(done.datasets) == ["test", "train"]
    folds = {
        name: {r["fold"] for r in read_manifest(folder / "manifest.csv")}
        for name, folder in done.datasets.items()
    }
    assert folds == {"train": {"1", "2"}, "test": {"3"}}
    record = spectroprep.open_dataset(done.datasets["test"]).info["derivation"]["split"]
    assert record["map"] == {"train": ["1", "2"], "test": ["3"]}
    with pytest.raises(ConfigError, match=r"value\(s\) '3' are in no split .*;rest=NAME"):
        spectroprep.shard(out, tmp_path / "x", split_column="fold", split_map="train=1;val=2")
    rest = spectroprep.shard(out, tmp_path / "r", split_column="fold", split_map="val=2;rest=train")
    assert {r["fold"] for r in read_manifest(rest.datasets["train"] / "manifest.csv")} == {"1", "3"}


@pytest.mark.parametrize(
    "split_map, message",
    [
        ("train=1,2;val=2", r"'2' is in train and in val"),
        ("train=1;train=2", r"train is named twice"),
        ("train", r"'train' is not NAME=VALUE"),
        ("train=1;val=9", r"split val would be empty"),
    ],
)
def test_a_bad_split_map_is_named(esc50, tmp_path, split_map, message):
    out = build_esc50(esc50, tmp_path / "ds")
    with pytest.raises(ConfigError, match=message):
        spectroprep.shard(out, tmp_path / "x", split_column="fold", split_map=split_map + ";rest=x")


def test_examples_without_a_value_are_not_a_split_of_their_own(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", 1.0, 16000)
    write_audio(audio / "b.wav", 2.0, 16000, seed=1)
    (tmp_path / "meta.csv").write_text("path,fold\na.wav,1\nb.wav,\n")
    out = build(audio, tmp_path / "ds", metadata=tmp_path / "meta.csv")
    with pytest.raises(ConfigError, match=r"2 example\(s\) have no fold value"):
        spectroprep.shard(out, tmp_path / "folds", split_column="fold")


# -- segments: rows that select parts of files ------------------------------------------


@pytest.fixture
def street(tmp_path):
    """A 10-s 44.1 kHz stereo recording and a short FLAC, and a table of segments."""
    audio = tmp_path / "audio"
    write_audio(audio / "street.wav", 10.0, 44100, seed=3, channels=2)
    write_audio(audio / "other.flac", 1.2, 22050, seed=4)
    (tmp_path / "segments.csv").write_text(
        "path,Start,End,label,salience\n"
        "street.wav,0.5,2.5,dog,1\n"
        "street.wav,2.0,4.0,car,2\n"  # overlaps the first
        "other.flac,0,1.2,dog,1\n"
    )
    return audio


def segment_build(audio, out, **kwargs):
    return build(
        audio,
        out,
        labels=audio.parent / "segments.csv",
        start_column="start",
        end_column="end",
        metadata_columns=["salience"],
        **kwargs,
    )


def test_segments_are_windowed_like_files_and_named_by_file_and_second(street, tmp_path):
    out = segment_build(street, tmp_path / "ds")
    rows = [(r["source"], r["start"], r["duration"], r["label"], r["salience"])
            for r in read_manifest(out / "manifest.csv")]  # fmt: skip
    assert rows == [
        ("other.flac", "0.000000", "1.000000", "dog", "1"),
        ("other.flac", "1.000000", "0.200000", "dog", "1"),
        ("street.wav", "0.500000", "1.000000", "dog", "1"),
        ("street.wav", "1.500000", "1.000000", "dog", "1"),
        ("street.wav", "2.000000", "1.000000", "car", "2"),
        ("street.wav", "3.000000", "1.000000", "car", "2"),
    ]
    # whole files, cut every 0.5 s and every 1 s: each segment window has a twin
    refs = [
        build(street, tmp_path / f"whole{hop}", overrides=[f"segment.hop={hop}"])
        for hop in (0.5, 1.0)
    ]
    twins = {}
    for ref in refs:
        for r in read_manifest(ref / "manifest.csv"):
            twins[(r["source"], r["start"])] = (ref, int(r["id"]) - 1)
    with spectroprep.open_dataset(out) as seg:
        for k, (source, start, *_) in enumerate(rows):
            ref, index = twins[(source, start)]
            twin = spectroprep.open_dataset(ref)[index][0]
            np.testing.assert_allclose(seg[k][0], twin, atol=1e-4)
    report = verify(out, recompute=6)
    assert report.ok, [p.line() for p in report.problems]
    assert report.recomputed is not None and report.recomputed["compared"] == 6


def test_a_split_by_source_keeps_a_files_segments_together(street, tmp_path):
    out = segment_build(street, tmp_path / "ds")
    done = spectroprep.shard(out, tmp_path / "split", split="a=0.5,b=0.5", jobs=1)
    files = [
        {r["source"] for r in read_manifest(f / "manifest.csv")} for f in done.datasets.values()
    ]
    assert files[0].isdisjoint(files[1])


def events_build(audio, tmp_path):
    """Segments of segments.csv labelled by the events of events.tsv."""
    return build(
        audio,
        tmp_path / "ds",
        labels=tmp_path / "segments.csv",
        start_column="start",
        end_column="end",
        events=tmp_path / "events.tsv",
    )


def test_events_follow_their_segment(street, tmp_path):
    (tmp_path / "events.tsv").write_text(
        "filename\tonset\toffset\tevent_label\nstreet.wav\t2.2\t2.6\thorn\n"
    )
    out = events_build(street, tmp_path)
    with spectroprep.open_dataset(out, targets="frames") as ds:
        rows = read_manifest(out / "manifest.csv")
        k = next(
            i for i, r in enumerate(rows) if (r["source"], r["start"]) == ("street.wav", "2.000000")
        )
        frames = ds[k][1][:, 0]  # 101 frames of 10 ms; the horn at 0.2-0.6 s into the window
        assert frames[25:55].all() and not frames[:15].any() and not frames[65:].any()
        j = next(
            i for i, r in enumerate(rows) if (r["source"], r["start"]) == ("street.wav", "1.500000")
        )
        # 2.2 s is 0.7 s into the window at 1.5 s, whose segment ends at 2.5 s
        assert ds[j][1][75:100, 0].all() and not ds[j][1][100, 0]


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "street.wav,9.0,10.5,dog,1",
            r"segments\.csv:2: segment 9-10\.5 s ends past the end of street\.wav \(10 s\)",
        ),
        ("street.wav,3,3,dog,1", r"segments\.csv:2: start 3 s is not before end 3 s"),
        ("street.wav,x,3,dog,1", r"segments\.csv:2: start 'x' is not a number of seconds"),
        ("nowhere.wav,0,1,dog,1", r"segments\.csv:2: nowhere\.wav is not among the input audio"),
    ],
)
def test_a_bad_segment_is_named_by_file_and_line(street, tmp_path, row, message):
    (tmp_path / "segments.csv").write_text("path,start,end,label,salience\n" + row + "\n")
    with pytest.raises(InputError, match=message):
        segment_build(street, tmp_path / "ds")


def test_an_unclosed_quote_is_an_error_not_rows_lost(tmp_path):
    audio = tmp_path / "audio"
    for name in ("a", "b", "c"):
        write_audio(audio / f"{name}.wav", 1.0, 16000)
    (tmp_path / "meta.csv").write_text('path,site\na.wav,"north\nb.wav,south\nc.wav,east\n')
    with pytest.raises(InputError, match=r"meta\.csv:4: not a valid table \(unexpected end"):
        build(audio, tmp_path / "ds", metadata=tmp_path / "meta.csv")


def test_a_segment_ending_within_a_millisecond_past_its_file_is_clipped(street, tmp_path):
    (tmp_path / "segments.csv").write_text(
        "path,start,end,label,salience\nother.flac,0.5,1.2009,dog,1\n"
    )
    out = segment_build(street, tmp_path / "ds")
    assert [r["duration"] for r in read_manifest(out / "manifest.csv")] == ["0.700000"]


def test_a_segment_table_needs_its_label_column(street, tmp_path):
    (tmp_path / "segments.csv").write_text("path,start,end,class,salience\nstreet.wav,0,1,dog,1\n")
    with pytest.raises(InputError, match=r"missing column\(s\) label"):
        segment_build(street, tmp_path / "ds")


def test_events_of_files_without_segments_are_left_aside(street, tmp_path):
    (tmp_path / "segments.csv").write_text("path,start,end\nstreet.wav,2,4\n")
    (tmp_path / "events.tsv").write_text(
        "filename\tonset\toffset\tevent_label\n"
        "street.wav\t2.2\t2.6\thorn\nother.flac\t0.1\t0.5\tdog\n"
    )
    out = events_build(street, tmp_path)
    with spectroprep.open_dataset(out) as ds:
        assert ds.classes == ["dog", "horn"] and len(ds) == 2
        assert ds.labels.tolist() == [[0, 1], [0, 0]]


def test_segments_are_in_time_order_and_one_segment_is_listed_once(street, tmp_path):
    (tmp_path / "segments.csv").write_text(
        "path,start,end,label,salience\n"
        "street.wav,1.5,2.5,dog,1\nstreet.wav,1.25,2.25,car,1\nstreet.wav,0.5,1.5,dog,1\n"
    )
    out = segment_build(street, tmp_path / "ds")
    starts = [float(r["start"]) for r in read_manifest(out / "manifest.csv")]
    assert starts == [0.5, 1.25, 1.5]
    with (tmp_path / "segments.csv").open("a") as f:
        f.write("street.wav,1.50,2.50,dog,1\n")
    with pytest.raises(
        InputError, match=r"segments\.csv:5: repeats the segment of .*segments\.csv:2"
    ):
        segment_build(street, tmp_path / "ds2")


@pytest.mark.parametrize(
    "name, rate, subtype", [("long.ogg", 48000, "VORBIS"), ("long.mp3", 44100, "MPEG_LAYER_III")]
)
def test_segments_deep_in_a_long_compressed_file(tmp_path, name, rate, subtype):
    """A 60-s stereo Vorbis or MP3 file: segments near its start, middle and end are
    windowed from the right place (verify recomputes them from the file)."""
    audio = tmp_path / "audio"
    x = np.stack([scene(60.0, rate, seed=5), scene(60.0, rate, seed=6)], axis=1)
    fmt = "OGG" if name.endswith(".ogg") else "MP3"
    write_blocks(audio / name, x, rate, format=fmt, subtype=subtype)
    (tmp_path / "segments.csv").write_text(
        "path,start,end,label,salience\n"
        f"{name},0.25,1.75,a,1\n{name},31.5,33.0,b,1\n{name},57.0,59.5,a,2\n"
    )
    out = segment_build(audio, tmp_path / "ds")
    starts = [float(r["start"]) for r in read_manifest(out / "manifest.csv")]
    assert starts == [0.25, 1.25, 31.5, 32.5, 57.0, 58.0, 59.0]
    report = verify(out, recompute=7)
    assert report.ok, [p.line() for p in report.problems]
    assert report.recomputed is not None and report.recomputed["compared"] == 7


def test_per_window_label_files_label_the_windows_of_segments(street, tmp_path):
    """``<name>-lbl.npy`` labels the windows of its whole file (at 0.5 s hops here); a
    segment takes the labels of the file's windows it is made of."""
    hop = ["segment.hop=0.5"]
    np.save(street / "street-lbl.npy", np.array([f"w{w % 4}" for w in range(19)]))
    np.save(street / "other-lbl.npy", np.array(["w0", "w3"]))
    (tmp_path / "segments.csv").write_text(
        "path,start,end,site\nstreet.wav,1.5,4.0,a\nstreet.wav,6.0,7.1,b\nother.flac,0,1.2,c\n"
    )
    kw = {"start_column": "start", "end_column": "end", "metadata_columns": ["site"]}
    out = build(street, tmp_path / "seg", labels=tmp_path / "segments.csv",
                labels_per_window=True, overrides=hop, **kw)  # fmt: skip
    whole = build(street, tmp_path / "whole", labels_per_window=True, overrides=hop)
    twins = {(r["source"], r["start"]): r["label"] for r in read_manifest(whole / "manifest.csv")}
    rows = read_manifest(out / "manifest.csv")
    assert [(r["source"], r["start"], r["label"]) for r in rows] == [
        ("other.flac", "0.000000", "w0"),
        ("other.flac", "0.500000", "w3"),
        ("street.wav", "1.500000", "w3"),  # the file's window 3
        ("street.wav", "2.000000", "w0"),
        ("street.wav", "2.500000", "w1"),
        ("street.wav", "3.000000", "w2"),  # ends at 4.0 s, the segment's end
        ("street.wav", "6.000000", "w0"),  # window 12
        ("street.wav", "6.500000", "w1"),  # zero-padded past 7.1 s
    ]
    for r in rows:
        assert r["label"] == twins[(r["source"], r["start"])], r
    assert {r["site"] for r in rows if r["source"] == "street.wav"} == {"a", "b"}
    with spectroprep.open_dataset(out) as seg, spectroprep.open_dataset(whole) as ref:
        labels = dict(zip([(r["source"], r["start"]) for r in rows], seg.labels, strict=True))
        for (source, start), label in labels.items():
            assert seg.classes[label] == twins[(source, start)]
        assert seg.classes == ref.classes
    assert verify(out).ok


def test_a_segment_off_the_window_grid_cannot_take_per_window_labels(street, tmp_path):
    np.save(street / "street-lbl.npy", np.zeros(10, dtype=np.int64))
    np.save(street / "other-lbl.npy", np.zeros(2, dtype=np.int64))
    (tmp_path / "segments.csv").write_text("path,start,end\nstreet.wav,1.25,3.0\n")
    with pytest.raises(InputError, match=r"street-lbl\.npy: labels the windows of street\.wav, "
                       r"but its segment street\.wav@1\.25-3 starts 1\.25 s in, off the window "
                       r"grid \(a multiple of segment\.hop = 1 s\)"):  # fmt: skip
        build(street, tmp_path / "ds", labels=tmp_path / "segments.csv", labels_per_window=True,
              start_column="start", end_column="end")  # fmt: skip
