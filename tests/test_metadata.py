"""build --metadata: extra per-file columns carried into manifest.csv."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS_WINDOWS, build, run_command

from spectroprep.columns import MANIFEST_COLUMNS
from spectroprep.dataset.manifest import read_manifest
from spectroprep.errors import InputError
from spectroprep.read.reader import open_dataset
from spectroprep.verify import verify


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_metadata_columns_reach_every_manifest_row(corpus: Path, tmp_path: Path) -> None:
    speakers = {name: f"spk{i % 3}" for i, name in enumerate(CORPUS_WINDOWS)}
    lines = ["path,speaker,fold"] + [
        f"{name},{speakers[name]},{i % 2 + 1}" for i, name in enumerate(CORPUS_WINDOWS)
    ]
    meta = _write(tmp_path / "meta.csv", "\n".join(lines) + "\n")
    out = build(corpus, tmp_path / "ds", labels_from_folders=True, metadata=meta)
    rows = read_manifest(out / "manifest.csv")
    assert len(rows) == sum(CORPUS_WINDOWS.values())
    for row in rows:
        assert row.extra["speaker"] == speakers[row.source]
    folds = {row.source: row.extra["fold"] for row in rows}
    assert folds == {name: str(i % 2 + 1) for i, name in enumerate(CORPUS_WINDOWS)}
    header = (out / "manifest.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join([*MANIFEST_COLUMNS, "speaker", "fold"])
    assert open_dataset(out).info["manifest"]["columns"] == [*MANIFEST_COLUMNS, "speaker", "fold"]
    assert verify(out).ok


def test_metadata_rows_match_by_base_name(corpus: Path, tmp_path: Path) -> None:
    lines = ["path,site"] + [f"{name},site-{name[0]}" for name in CORPUS_WINDOWS]
    lines[3] = "clip20.wav,site-c"  # cat/clip20.wav by its unique base name, as labels.csv
    meta = _write(tmp_path / "meta.csv", "\n".join(lines) + "\n")
    out = build(corpus, tmp_path / "ds", metadata=meta)
    sites = {r.source: r.extra["site"] for r in read_manifest(out / "manifest.csv")}
    assert sites["cat/clip20.wav"] == "site-c"


def test_a_tampered_metadata_column_fails_verify(corpus: Path, tmp_path: Path) -> None:
    lines = ["path,site"] + [f"{name},s" for name in CORPUS_WINDOWS]
    out = build(corpus, tmp_path / "ds", metadata=_write(tmp_path / "m.csv", "\n".join(lines)))
    manifest = out / "manifest.csv"
    text = manifest.read_text(encoding="utf-8").splitlines()
    manifest.write_text("\n".join(line.rsplit(",", 1)[0] for line in text) + "\n")
    report = verify(out)
    assert not report.ok
    assert any("expected id,path,index" in p.message for p in report.problems)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,speaker\ndog/clip1.wav,a\n", "no row for 5 input file(s): cat/clip1.flac"),
        ("path\n" + "\n".join(CORPUS_WINDOWS), "has no column besides path"),
        ("path,label\n" + "\n".join(f"{n},x" for n in CORPUS_WINDOWS), "column 'label' is one"),
        ("path,s\nnope.wav,1\n", "meta.csv:2: nope.wav is not among the input audio"),
        (
            "path,s\n" + "\n".join(f"{n},1" for n in CORPUS_WINDOWS) + "\ndog/clip1.wav,2\n",
            "meta.csv:8: dog/clip1.wav has a row already (/",
        ),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_written(
    corpus: Path, tmp_path: Path, text: str, message: str
) -> None:
    meta = _write(tmp_path / "meta.csv", text)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(corpus, tmp_path / "ds", metadata=meta)
    assert not (tmp_path / "ds").exists()


def test_metadata_from_the_command_line(corpus: Path, tmp_path: Path) -> None:
    lines = ["path,speaker"] + [f"{name},sp" for name in CORPUS_WINDOWS]
    meta = _write(tmp_path / "meta.csv", "\n".join(lines) + "\n")
    done = run_command("build", corpus, "--out", tmp_path / "ds", "--metadata", meta, "-q", "-j1")
    assert done.returncode == 0, done.stderr
    assert {r.extra["speaker"] for r in read_manifest(tmp_path / "ds" / "manifest.csv")} == {"sp"}
