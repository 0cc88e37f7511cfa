import json
import subprocess
import sys

import numpy as np
import soundfile as sf
from click.testing import CliRunner
from conftest import left_behind, process_marker, run_command

import spectroprep
from spectroprep.cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    # anything but a clean exit is a crash with a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_build_then_info(corpus, tmp_path):
    out = tmp_path / "ds"
    args = [
        "build",
        corpus,
        "--out",
        out,
        "--labels-from-folders",
        "--quiet",
        "--jobs",
        2,
        "--set",
        "storage.shard_examples=5",
        "--format",
        "npy",
    ]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "wrote 12 examples" in result.output
    info = json.loads((out / "dataset.json").read_text())
    assert info["provenance"]["command"] == ["spectroprep", *map(str, args)]
    assert info["config"]["storage"]["format"] == "npy"
    assert info["config"]["storage"]["shard_examples"] == 5
    assert len(spectroprep.open_dataset(out)) == 12

    result = run("info", out)
    assert result.exit_code == 0
    assert "12 from 6 source file(s)" in result.output and "cat 6, dog 6" in result.output
    summary = json.loads(run("info", out, "--json").output)
    assert summary["examples"] == 12 and summary["shape"] == [257, 101]


def test_errors_are_one_line_exit_2_for_bad_input_1_otherwise(corpus, tmp_path):
    result = run("build", tmp_path / "missing", "--out", tmp_path / "ds")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path / 'missing'}: no such folder or file"
    ]

    result = run("build", corpus, "--out", tmp_path / "ds", "--set", "spectrogram.nfft=1")
    assert result.exit_code == 2
    assert "unknown key spectrogram.nfft; did you mean 'n_fft'?" in result.output

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    result = run("build", corpus, "--out", tmp_path / "full")
    assert result.exit_code == 1 and "not empty (use --overwrite" in result.output

    result = run("info", tmp_path / "full")
    assert result.exit_code == 1 and "not a complete spectroprep dataset" in result.output


def test_usage_errors_exit_2(corpus, tmp_path):
    assert run("build", corpus).exit_code == 2  # --out missing
    assert run("build", corpus, "--out", tmp_path / "d", "--format", "zarr").exit_code == 2
    assert run("build", corpus, "--out", tmp_path / "d", "--jobs", 0).exit_code == 2


def test_data_files_are_identical_whatever_the_jobs_only_the_command_differs(corpus, tmp_path):
    for jobs in (1, 2):
        result = run(
            "build",
            corpus,
            "--out",
            tmp_path / f"j{jobs}",
            "-q",
            "--jobs",
            jobs,
            "--set",
            "storage.shard_examples=4",
        )
        assert result.exit_code == 0
    one, two = tmp_path / "j1", tmp_path / "j2"
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert len(files) == 6  # 3 shards, manifest, source statistics, dataset.json
    for rel in files:
        if rel.name != "dataset.json":
            assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel
    info = [json.loads((d / "dataset.json").read_text()) for d in (one, two)]
    commands = [i["provenance"].pop("command") for i in info]
    assert commands[0] != commands[1] and info[0] == info[1]


def test_bad_csv_is_one_line(corpus, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\n" + "x" * 200_000 + ",a\n")
    result = run("build", corpus, "--out", tmp_path / "ds", "--labels", labels)
    assert result.exit_code == 2
    assert "labels.csv:2: not a valid table (field larger than field limit" in result.output


def test_no_worker_process_outlives_the_command(corpus, tmp_path):
    env, marker = process_marker()
    for args, code in (
        (["build", corpus, "--out", tmp_path / "ds", "--jobs", 2, "--quiet"], 0),
        (["shard", tmp_path / "ds", "--out", tmp_path / "ds2", "--shuffle", "--jobs", 2], 0),
    ):
        done = run_command(*args, env=env)
        assert done.returncode == code, done.stderr
        assert left_behind(marker) == [], args
    # a build stopped by a file that fails to decode, its workers busy with other shards
    x = np.zeros(16000 * 5, dtype=np.float32)
    x[16000 * 4] = np.nan
    sf.write(corpus / "dog" / "clip30.wav", x, 16000, subtype="FLOAT")
    done = run_command("build", corpus, "--out", tmp_path / "ds3", "--jobs", 2, env=env)
    assert done.returncode == 2 and "clip30.wav: 1 NaN" in done.stderr
    assert left_behind(marker) == []


def test_a_script_without_a_main_guard_builds_once(corpus, tmp_path):
    """Workers never run the caller's __main__ again (spawning start methods would,
    so this unguarded script would build in every worker)."""
    script = tmp_path / "prepare.py"
    script.write_text(
        "import spectroprep\n"
        f"spectroprep.build({str(corpus)!r}, {str(tmp_path / 'ds')!r}, jobs=2)\n"
        "print('built')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["built"]
