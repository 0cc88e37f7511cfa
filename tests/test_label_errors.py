"""Bad label inputs: each gives one line naming the file (and a table's line), and
nothing is written."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import CORPUS_WINDOWS, build, write_audio

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.dataset.manifest import read_manifest
from spectroprep.errors import InputError, LabelWarning

WINDOWS = CORPUS_WINDOWS
EVENTS_HEADER = "filename\tonset\toffset\tevent_label"
GOOD_EVENT = "cat/clip1.flac\t0.5\t1.5\tmeow"  # line 2 of every events table below


@pytest.fixture
def out(tmp_path):
    return tmp_path / "ds"


def at(path, line=None):
    """Regex of a message's start: ``path:line: `` (or ``path: ``)."""
    return re.escape(f"{path}:{line}: " if line is not None else f"{path}: ")


def refused(audio, out, pattern, **kwargs):
    """Build, expecting a one-line InputError matching ``pattern`` and no output folder."""
    with pytest.raises(InputError, match=pattern) as info:
        build(audio, out, **kwargs)
    assert "\n" not in str(info.value)
    assert not out.exists()
    return info.value


def write_lines(path, *lines, sep=None):
    text = "\n".join(lines) + "\n"
    path.write_text(text if sep is None else text.replace("\t", sep))
    return path


def events_table(tmp_path, *rows, sep=None):
    return write_lines(tmp_path / "events.tsv", EVENTS_HEADER, GOOD_EVENT, *rows, sep=sep)


def key(name):
    """A corpus file as a keyword: cat/clip1.flac -> cat__clip1_flac."""
    return name.replace("/", "__").replace(".", "_")


def clip_labels(tmp_path, **changes):
    """labels.csv labelling every corpus file by its folder (lines 2-7, in WINDOWS order);
    ``changes`` maps a file (as ``key(name)``) to its label cell, or None to leave it out."""
    rows = ["path,label"]
    for name in WINDOWS:
        cell = changes.get(key(name), name.split("/")[0])
        if cell is not None:
            rows.append(f"{name},{cell}")
    return write_lines(tmp_path / "labels.csv", *rows)


def window_labels(corpus, **changes):
    """``<stem>-lbl.npy`` beside every corpus file, class ids 0/1 of the right length;
    ``changes`` maps a file (as ``key(name)``) to the array to save instead."""
    for name, windows in WINDOWS.items():
        values = changes.get(key(name), np.arange(windows) % 2)
        np.save(lbl_path(corpus, name), values, allow_pickle=True)


def lbl_path(corpus, name):
    audio = corpus / name
    return audio.with_name(f"{audio.stem}-lbl.npy")


# -- events tables -------------------------------------------------------------


@pytest.mark.parametrize(
    "row, message",
    [
        ("cat/clip3.wav\t0.8\t0.2\tmeow", r"onset 0\.8 is after offset 0\.2$"),
        ("cat/clip3.wav\t0.4\t0.4\tmeow", r"onset and offset are both 0\.4 \(an empty event\)$"),
        ("cat/clip3.wav\t-0.1\t0.5\tmeow", r"negative onset -0\.1$"),
        ("cat/clip3.wav\t0\t-1\tmeow", r"negative offset -1$"),
        ("cat/clip3.wav\tsoon\t0.5\tmeow", r"onset 'soon' is not a number of seconds$"),
        ("cat/clip3.wav\t0\t0,5\tmeow", r"offset '0,5' is not a number of seconds$"),
        ("cat/clip3.wav\tnan\t0.5\tmeow", r"onset 'nan' is not a finite number$"),
        ("cat/clip3.wav\t0\tinf\tmeow", r"offset 'inf' is not a finite number$"),
        ("cat/clip3.wav\t0\t1e999\tmeow", r"offset '1e999' is not a finite number$"),
        ("cat/clip3.wav\t0\t0.5\t", r"empty event_label$"),
        ("cat/clip3.wav\t0\t0.5\t   ", r"empty event_label$"),
        ("cat/clip3.wav\t\t0.5\tmeow", r"empty onset$"),
        ("cat/clip3.wav\t0\t\tmeow", r"empty offset$"),
        ("\t0\t0.5\tmeow", r"empty filename$"),
        ("cat/clip3.wav\t0\t0.5\tmeow;purr", r"class name 'meow;purr' contains ';'$"),
        ("ghost.wav\t0\t0.5\tboo", r"ghost\.wav is not among the input audio \(paths are relative"),
        ("cat/clip4.wav\t0\t0.5\tmeow", r"cat/clip4\.wav is not among the input audio"),
    ],
)
def test_a_bad_event_row_names_the_file_and_line(corpus, tmp_path, out, row, message):
    events = events_table(tmp_path, "dog/clip1.wav\t0\t1\tbark", row)
    refused(corpus, out, at(events, 4) + message, events=events)


def test_a_base_name_of_two_input_files_is_ambiguous(corpus, tmp_path, out):
    write_audio(corpus / "bird" / "clip3.wav", 1.0, 16000, seed=7)
    events = events_table(tmp_path, "clip3.wav\t0\t0.5\tchirp")
    refused(
        corpus,
        out,
        at(events, 3) + r"clip3\.wav matches 2 input files \(bird/clip3\.wav, cat/clip3\.wav\); "
        rf"give its path relative to {re.escape(str(corpus))}$",
        events=events,
    )


def test_a_repeated_row_names_the_line_it_repeats(corpus, tmp_path, out):
    # clip1.flac is the base name of cat/clip1.flac only: the same event as line 2
    events = events_table(tmp_path, "dog/clip1.wav\t0\t1\tbark", "clip1.flac\t0.5\t1.5\tmeow")
    refused(corpus, out, at(events, 4) + r"repeats line 2$", events=events)


@pytest.mark.parametrize(
    "lines, missing",
    [
        (["filename\tonset\tevent_label", "cat/clip1.flac\t0\tmeow"], "offset"),
        (
            ["file,start,end,label", "cat/clip1.flac,0,1,meow"],
            "filename, onset, offset, event_label",
        ),
        ([GOOD_EVENT], "filename, onset, offset, event_label"),  # no header
        ([""], "filename, onset, offset, event_label"),  # empty file
    ],
)
def test_missing_columns_are_named(corpus, tmp_path, out, lines, missing):
    events = write_lines(tmp_path / "events.tsv", *lines)
    refused(corpus, out, at(events) + rf"missing column\(s\) {missing} \(header: ", events=events)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"], ids=["latin-1", "utf-16-with-bom"])
def test_an_events_table_that_is_not_utf8(corpus, tmp_path, out, encoding):
    events = tmp_path / "events.tsv"
    events.write_bytes(f"{EVENTS_HEADER}\ncat/clip1.flac\t0\t1\tmiaulé\n".encode(encoding))
    line = 2 if encoding == "latin-1" else 1  # UTF-16 fails at its byte-order mark
    refused(corpus, out, at(events, line) + r"not UTF-8 text \(", events=events)


def test_an_event_class_outside_the_vocabulary(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "meow", "bark")
    events = events_table(tmp_path, "dog/clip1.wav\t0\t1\tbark", "dog/clip2.flac\t0\t1\thowl")
    refused(
        corpus,
        out,
        at(events, 4) + rf"class 'howl' is not in {re.escape(str(classes))}$",
        events=events,
        classes=classes,
    )


@pytest.mark.parametrize("sep", ["\t", ","], ids=["tab", "comma"])
def test_tab_and_comma_separated_tables_are_both_read(corpus, tmp_path, out, sep):
    events = events_table(
        tmp_path,
        "clip20.wav\t0.2\t0.8\tmeow",  # the base name of cat/clip20.wav only
        "dog/clip1.wav\t1.2\t1.9\tbark",
        sep=sep,
    )
    ds = spectroprep.open_dataset(build(corpus, out, events=events))
    assert ds.classes == ["bark", "meow"]
    labels = {(r.source, r.start): r.label for r in read_manifest(out / "manifest.csv")}
    assert labels[("cat/clip1.flac", 0.0)] == "meow"  # 0.5-1.5 s: half of each window
    assert labels[("cat/clip20.wav", 0.0)] == "meow"
    assert labels[("cat/clip20.wav", 1.0)] == ""
    assert labels[("dog/clip1.wav", 1.0)] == "bark"
    assert labels[("dog/clip1.wav", 0.0)] == labels[("dog/clip2.flac", 0.0)] == ""


def test_a_row_with_only_a_filename_is_a_file_without_events(corpus, tmp_path, out):
    events = events_table(tmp_path, "dog/clip2.flac\t\t\t", "dog/clip10.wav\t\t\t")
    ds = spectroprep.open_dataset(build(corpus, out, events=events))
    assert ds.classes == ["meow"]
    rows = read_manifest(out / "manifest.csv")
    assert [r.label for r in rows if r.source.startswith("dog/")] == [""] * 6


def test_an_event_past_the_end_of_its_file_is_clipped_with_a_warning(corpus, tmp_path, out):
    events = events_table(tmp_path, "cat/clip3.wav\t0\t0.5\tmeow", "dog/clip1.wav\t2\t4\tbark")
    with pytest.warns(LabelWarning) as record:
        build(corpus, out, events=events)
    assert [str(w.message) for w in record if w.category is LabelWarning] == [
        f"{events}:4: dog/clip1.wav: event 2-4 s ends past the end of the file (2.5 s); "
        "clipped to the file",
        f"3 of 6 input(s) have no event in {events} and become examples of no class "
        "(negatives), e.g. cat/clip20.wav",
    ]
    ds = spectroprep.open_dataset(out, targets="frames")
    rows = read_manifest(out / "manifest.csv")
    last = next(i for i, r in enumerate(rows) if (r.source, r.start) == ("dog/clip1.wav", 2.0))
    _, frames = ds[last]
    bark = ds.classes.index("bark")
    assert frames.shape == (101, 2)
    # frame t is centred on 2 s + t * 10 ms: active up to the file's end at 2.5 s only
    np.testing.assert_array_equal(frames[:, bark], [1] * 50 + [0] * 51)


def test_strict_refuses_an_event_past_the_end_of_its_file(corpus, tmp_path, out):
    events = events_table(tmp_path, "cat/clip3.wav\t0\t0.5\tmeow", "dog/clip1.wav\t2\t4\tbark")
    refused(
        corpus,
        out,
        at(events, 4) + r"dog/clip1\.wav: event 2-4 s ends past the end of the file \(2\.5 s\) "
        r"\(--strict refuses it\)$",
        events=events,
        strict=True,
    )


def test_an_events_table_without_any_event_builds_or_is_refused_clearly(corpus, tmp_path, out):
    events = write_lines(tmp_path / "events.tsv", EVENTS_HEADER, "cat/clip1.flac\t\t\t")
    try:
        build(corpus, out, events=events)
    except InputError as exc:
        assert str(events) in str(exc) and "\n" not in str(exc)
        assert not out.exists()
    else:
        assert len(spectroprep.open_dataset(out)) == sum(WINDOWS.values())


def test_a_quoted_label_cell_with_a_line_break_is_refused(corpus, tmp_path, out):
    path = clip_labels(tmp_path, cat__clip1_flac='"cat\nkitten"')
    refused(
        corpus,
        out,
        at(path, 3) + r"class name 'cat\\nkitten' contains a non-printable character",
        labels=path,
    )


def test_quotes_in_a_tsv_are_plain_characters_and_swallow_no_rows(corpus, tmp_path, out):
    path = events_table(tmp_path, 'dog/clip1.wav\t0\t1\t"bark', "cat/clip3.wav\t0\t1\tpurr")
    ds = spectroprep.open_dataset(build(corpus, out, events=path))
    assert ds.classes == ['"bark', "meow", "purr"]  # meow: the table's first, good row
    per_class = ds.info["counts"]["per_class"]
    assert per_class['"bark'] == 1 and per_class["purr"] == 1


# -- clip labels (--labels CSV) --------------------------------------------------


def test_clip_labels_that_fit_build(corpus, tmp_path, out):
    ds = spectroprep.open_dataset(build(corpus, out, labels=clip_labels(tmp_path)))
    assert ds.classes == ["cat", "dog"]


@pytest.mark.parametrize(
    "cell, message",
    [
        ("", r"empty label$"),
        ("  ", r"empty label$"),
        ("cat;", r"empty class name$"),
        ("cat;;dog", r"empty class name$"),
    ],
)
def test_an_empty_label_or_class_names_the_line(corpus, tmp_path, out, cell, message):
    labels = clip_labels(tmp_path, cat__clip20_wav=cell)
    refused(corpus, out, at(labels, 4) + message, labels=labels)


def test_a_path_labelled_twice_names_both_lines(corpus, tmp_path, out):
    labels = clip_labels(tmp_path)
    labels.write_text(labels.read_text() + "clip20.wav,dog\n")
    refused(
        corpus,
        out,
        at(labels, 8) + r"cat/clip20\.wav has a row already \("
        rf"{re.escape(str(labels))}:4\)$",
        labels=labels,
    )


def test_a_labelled_path_that_is_not_an_input(corpus, tmp_path, out):
    labels = clip_labels(tmp_path)
    labels.write_text(labels.read_text() + "cat/clip4.wav,cat\n")
    refused(
        corpus,
        out,
        at(labels, 8) + rf"cat/clip4\.wav is not among the input audio \(paths are relative "
        rf"to {re.escape(str(corpus))}\)$",
        labels=labels,
    )


def test_an_input_without_a_label_names_the_audio_file(corpus, tmp_path, out):
    labels = clip_labels(tmp_path, dog__clip10_wav=None)
    refused(
        corpus,
        out,
        at(corpus / "dog" / "clip10.wav")
        + rf"no label in {re.escape(str(labels))} \(1 input file\(s\) have none\)$",
        labels=labels,
    )


def test_a_clip_class_outside_the_vocabulary(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "cat", "dog")
    labels = clip_labels(tmp_path, cat__clip3_wav="cat;bird")
    refused(
        corpus,
        out,
        at(labels, 3) + rf"class 'bird' is not in {re.escape(str(classes))}$",
        labels=labels,
        classes=classes,
    )


def test_a_labels_csv_that_is_not_utf8(corpus, tmp_path, out):
    labels = tmp_path / "labels.csv"
    labels.write_bytes("path,label\ncat/clip1.flac,chat siamoisé\n".encode("latin-1"))
    refused(
        corpus, out, at(labels, 2) + r"not UTF-8 text \(invalid continuation byte", labels=labels
    )


def test_a_utf8_error_deep_in_a_table_names_its_true_place(corpus, tmp_path, out):
    labels = clip_labels(tmp_path)
    body = labels.read_bytes() + b"#" * 20_000 + b",x\n" + "siamoisé,cat\n".encode("latin-1")
    labels.write_bytes(body)
    error = refused(corpus, out, re.escape(str(labels)), labels=labels)
    offset = body.index("é".encode("latin-1"))
    assert re.search(rf"labels\.csv:9: |at byte {offset}\b", str(error))


# -- the --classes vocabulary ------------------------------------------------------


@pytest.mark.parametrize(
    "lines, message",
    [
        (["cat", "dog", "cat"], r":3: class 'cat' repeats line 1$"),
        (["cat", "dog;wolf"], r":2: class name 'dog;wolf' contains ';'$"),
        (["cat", "", "dog"], r":2: empty class name$"),
        (["cat", "  ", "dog"], r":2: empty class name$"),
        ([""], r": no class names$"),
        (["", " "], r": no class names$"),
    ],
)
def test_a_bad_vocabulary_names_the_file_and_line(corpus, tmp_path, out, lines, message):
    classes = write_lines(tmp_path / "classes.txt", *lines)
    refused(
        corpus,
        out,
        re.escape(str(classes)) + message,
        labels=clip_labels(tmp_path),
        classes=classes,
    )


def test_a_vocabulary_fixes_the_class_order_and_may_end_in_blank_lines(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "dog", " cat ", "", "")
    ds = spectroprep.open_dataset(build(corpus, out, labels_from_folders=True, classes=classes))
    assert ds.classes == ["dog", "cat"]


def test_a_vocabulary_without_labels(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "cat", "dog")
    refused(
        corpus,
        out,
        at(classes) + r"--classes needs labels \(--labels, --events, \.\.\.\)$",
        classes=classes,
    )


def test_a_class_folder_outside_the_vocabulary_names_the_audio_file(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "dog")
    refused(
        corpus,
        out,
        at(corpus / "cat" / "clip1.flac") + rf"class 'cat' is not in {re.escape(str(classes))}$",
        labels_from_folders=True,
        classes=classes,
    )


# -- per-window labels (<stem>-lbl.npy) --------------------------------------------


def test_per_window_labels_that_fit_build(corpus, out):
    window_labels(corpus)
    ds = spectroprep.open_dataset(build(corpus, out, labels_per_window=True))
    assert ds.classes == ["0", "1"]
    _, y = ds.get_batch(range(len(ds)))
    assert list(y) == [i % 2 for n in WINDOWS.values() for i in range(n)]


def test_a_missing_window_label_file_names_the_expected_path(corpus, out):
    window_labels(corpus)
    lbl = lbl_path(corpus, "dog/clip1.wav")
    lbl.unlink()
    refused(
        corpus,
        out,
        at(lbl) + r"no such file \(the per-window labels of clip1\.wav\)$",
        labels_per_window=True,
    )


class MakesAFolderWhenUnpickled:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self):
        return os.mkdir, (str(self.folder),)


@pytest.mark.parametrize(
    "values, message",
    [
        (np.array([0, 1]), r"2 labels, but the audio gives 3 windows with this segment config$"),
        (np.array([0, 1, 1, 0]), r"4 labels, but the audio gives 3 windows"),
        (np.zeros((3, 1), dtype=np.int64), r"expected one label per window, got an array of "),
        (np.array([0, -1, 1]), r"window 1: class id -1 is out of range \(0 to 999999\)$"),
        (np.array([0.0, 1.0, 0.5]), r"window 2: label 0\.5 is not a class id$"),
        (np.array([0.0, np.nan, 1.0]), r"window 1: label nan is not a class id$"),
        (np.array([b"a", b"b", b"a"]), r"labels of type \|S1 \(expected class ids or names\)$"),
    ],
    ids=["short", "long", "2-D", "negative", "fraction", "nan", "bytes"],
)
def test_a_bad_window_label_array_names_the_file(corpus, out, values, message):
    window_labels(corpus, dog__clip1_wav=values)
    lbl = lbl_path(corpus, "dog/clip1.wav")
    refused(corpus, out, at(lbl) + message, labels_per_window=True)


def test_an_object_array_is_refused_without_unpickling_it(corpus, tmp_path, out):
    marker = tmp_path / "unpickled"
    trap = np.array([0, MakesAFolderWhenUnpickled(marker), 1], dtype=object)
    window_labels(corpus, dog__clip1_wav=trap)
    lbl = lbl_path(corpus, "dog/clip1.wav")
    refused(
        corpus,
        out,
        at(lbl) + r"holds Python objects, which are never unpickled$",
        labels_per_window=True,
    )
    assert not marker.exists()
    np.load(lbl, allow_pickle=True)  # the trap is armed: loading it would have unpickled it
    assert marker.is_dir()


def test_a_text_file_named_npy_is_refused(corpus, out):
    window_labels(corpus)
    lbl = lbl_path(corpus, "dog/clip1.wav")
    lbl.write_text("0\n1\n1\n")
    refused(corpus, out, at(lbl) + r"not a \.npy file$", labels_per_window=True)


def test_a_window_class_id_beyond_the_vocabulary(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "quiet", "loud")
    window_labels(corpus, dog__clip1_wav=np.array([0, 1, 2]))
    refused(
        corpus,
        out,
        at(lbl_path(corpus, "dog/clip1.wav"))
        + rf"window 2: class id 2 is not in {re.escape(str(classes))} \(2 classes\)$",
        labels_per_window=True,
        classes=classes,
    )


def test_a_window_class_name_outside_the_vocabulary(corpus, tmp_path, out):
    classes = write_lines(tmp_path / "classes.txt", "quiet", "loud")
    names = {key(n): np.array(["quiet"] * w) for n, w in WINDOWS.items()}
    names["dog__clip1_wav"] = np.array(["quiet", "loud", "roar"])
    window_labels(corpus, **names)
    refused(
        corpus,
        out,
        at(lbl_path(corpus, "dog/clip1.wav"))
        + rf"window 2: class 'roar' is not in {re.escape(str(classes))}$",
        labels_per_window=True,
        classes=classes,
    )


def test_class_ids_and_class_names_do_not_mix(corpus, out):
    window_labels(corpus, dog__clip1_wav=np.array(["quiet", "loud", "loud"]))
    ids, names = lbl_path(corpus, "cat/clip1.flac"), lbl_path(corpus, "dog/clip1.wav")
    refused(
        corpus,
        out,
        at(ids) + rf"holds class ids while {re.escape(str(names))} holds class names; "
        r"use one kind$",
        labels_per_window=True,
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize(
    "values",
    [np.array([0, 1, 2**64 - 1], dtype=np.uint64), np.array([0.0, 1.0, 1e30])],
    ids=["uint64", "float"],
)
def test_a_huge_window_class_id_is_not_reported_as_negative(corpus, tmp_path, out, values):
    classes = write_lines(tmp_path / "classes.txt", "quiet", "loud")
    window_labels(corpus, dog__clip1_wav=values)
    error = refused(
        corpus,
        out,
        at(lbl_path(corpus, "dog/clip1.wav")) + r"window 2: ",
        labels_per_window=True,
        classes=classes,
    )
    assert "negative" not in str(error)


# -- label sources together ----------------------------------------------------------


@pytest.mark.parametrize(
    "sources, flags",
    [
        ({"labels": "labels.csv", "events": "events.tsv"}, "--labels and --events"),
        (
            {"labels_from_folders": True, "labels_per_window": True},
            "--labels-from-folders and --labels-per-window",
        ),
    ],
)
def test_only_one_label_source_at_a_time(corpus, tmp_path, out, sources, flags):
    clip_labels(tmp_path)
    events_table(tmp_path)
    window_labels(corpus)
    sources = {k: tmp_path / v if isinstance(v, str) else v for k, v in sources.items()}
    refused(corpus, out, rf"^give one label source, not {flags}$", **sources)


# -- the command line ----------------------------------------------------------------


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    # anything but a clean exit is a crash with a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_the_cli_prints_one_error_line_with_file_and_line(corpus, tmp_path, out):
    events = events_table(tmp_path, "dog/clip1.wav\t0\t1\tbark", "dog/clip2.flac\t1\t0.5\tbark")
    result = run("build", corpus, "--out", out, "--events", events, "--quiet", "--jobs", 1)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"error: {events}:4: onset 1 is after offset 0.5"]
    assert not out.exists()


def test_the_cli_prints_the_clipping_warning_on_one_line(corpus, tmp_path, out):
    events = events_table(tmp_path, "dog/clip1.wav\t2\t4\tbark")
    result = run("build", corpus, "--out", out, "--events", events, "--quiet", "--jobs", 1)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {events}:3: dog/clip1.wav: event 2-4 s ends past the end of the file "
        "(2.5 s); clipped to the file",
        f"warning: 4 of 6 input(s) have no event in {events} and become examples of no "
        "class (negatives), e.g. cat/clip3.wav",
    ]
    assert f"wrote 12 examples of 2 classes in 1 shard(s) to {out}" in result.output


# -- added with the review fixes ------------------------------------------------------


def test_two_audio_files_may_not_share_a_window_label_file(corpus, out):
    window_labels(corpus)
    write_audio(corpus / "dog" / "clip1.flac", 1.0, 16000)
    refused(
        corpus,
        out,
        at(lbl_path(corpus, "dog/clip1.wav")) + r"would label both clip1\.flac and clip1\.wav",
        labels_per_window=True,
    )


@pytest.mark.parametrize("names", [False, True], ids=["ids", "names"])
def test_a_file_without_windows_needs_no_window_label_file(corpus, tmp_path, names):
    if names:
        window_labels(corpus, **{key(n): np.array(["quiet"] * w) for n, w in WINDOWS.items()})
    else:
        window_labels(corpus)
    write_audio(corpus / "dog" / "empty.wav", 0.0, 16000)  # no frames: no windows
    ds = spectroprep.open_dataset(build(corpus, tmp_path / "ds", labels_per_window=True))
    assert ds.info["counts"]["rejected"] == 1 and ds.label_kind == "per-window"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strict": True}, r"^--strict applies to --events$"),
        ({"multi_label": True}, r"^--multi-label needs clip labels"),
        ({"multi_label": True, "labels_per_window": True}, r"^--multi-label applies to clip"),
    ],
)
def test_flags_that_do_not_apply_are_refused(corpus, out, kwargs, message):
    refused(corpus, out, message, **kwargs)


def test_a_file_name_with_a_line_break_stays_on_one_line(corpus, tmp_path, out):
    path = clip_labels(tmp_path)
    path.write_text(path.read_text() + '"cat/ghost\nclip.wav",cat\n')
    refused(corpus, out, at(path, 9) + r"'cat/ghost\\nclip\.wav' is not among", labels=path)
