"""`spectroprep bench`: real reads of a real dataset, in this process and in worker
processes, and the keeps-up verdict for a model's step time."""

import json

import pytest
from conftest import build_small, run_command

from spectroprep.bench import PATTERNS, measure
from spectroprep.bench.advice import verdict


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "plain")


def _bench(dataset, *args):
    return run_command("bench", dataset, "--seconds", "0.1", *args)


def test_json_reports_every_pattern_and_worker_count(dataset):
    result = _bench(dataset, "--workers", "0,2", "--batch-size", "8", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["examples"] == 113 and summary["batch_size"] == 8
    rows = {(r["pattern"], r["workers"]): r for r in summary["results"]}
    assert set(rows) == {(p, w) for p in PATTERNS for w in (0, 2)}
    for row in rows.values():
        assert row["examples"] > 0 and row["examples_per_s"] > 0
        assert row["mb_per_s"] == pytest.approx(
            row["examples_per_s"] * summary["example_bytes"] / 1e6, rel=1e-3, abs=0.1
        )
    assert summary["verdict"] is None


def test_table_and_a_step_time_the_loader_meets(dataset):
    result = _bench(dataset, "--workers", "0", "--step-ms", "100000")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "113 examples" in lines[0] and "0 workers: ex/s" in lines[1]
    assert [line.split()[0] for line in lines[2:6]] == [
        "sequential",
        "random",
        "random",
        "shuffled",
    ]
    assert lines[6].startswith("keeps up: ") and "every 100000 ms" in lines[6]


def test_a_step_time_no_loader_meets_gets_advice(dataset):
    result = _bench(dataset, "--workers", "0,1", "--step-ms", "0.0001", "--json")
    judged = json.loads(result.stdout)["verdict"]
    assert judged["keeps_up"] is False
    assert judged["needed_examples_per_s"] == pytest.approx(64 / 1e-7)
    assert any("float16" in tip for tip in judged["advice"])
    text = _bench(dataset, "--workers", "0", "--step-ms", "0.0001").stdout
    assert "does NOT keep up" in text and "the data loader is the bottleneck" in text


def test_worker_processes_read_their_own_shards(dataset):
    alone = measure(dataset, "shuffled epoch", 0, batch_size=8, seconds=0.1)
    pair = measure(dataset, "shuffled epoch", 2, batch_size=8, seconds=0.1)
    assert alone.workers == 0 and pair.workers == 2
    assert alone.examples > 0 and pair.examples > 0


def test_advice_follows_the_layout(dataset):
    rates = [measure(dataset, "shuffled epoch", 0, batch_size=8, seconds=0.05)]
    info = {
        "config": {"storage": {"format": "npy", "compression": "none", "chunk_examples": 1}},
        "features": {"dtype": "float16"},
    }
    judged = verdict(rates, 1e-6, 8, info, dataset_bytes=10**10, memory_bytes=10**9)
    assert not judged.keeps_up
    assert any("--format hdf5" in tip for tip in judged.advice)
    assert any("larger than memory" in tip for tip in judged.advice)
    info["config"]["storage"].update(format="hdf5", compression="gzip:4", chunk_examples=8)
    judged = verdict(rates, 1e-6, 8, info, dataset_bytes=1, memory_bytes=10**9)
    assert any("gzip" in tip for tip in judged.advice)
    assert any("--chunk-size 1" in tip for tip in judged.advice)


@pytest.mark.parametrize("workers", ["a,b", "-1", ""])
def test_bad_worker_lists_are_refused(dataset, workers):
    result = _bench(dataset, "--workers", workers)
    assert result.returncode == 2 and "--workers" in result.stderr
