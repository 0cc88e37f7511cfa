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
    # torch is installed here: a real DataLoader too (no CUDA: no pinned memory)
    patterns = (*PATTERNS, "torch DataLoader")
    assert set(rows) == {(p, w) for p in patterns for w in (0, 2)}
    for row in rows.values():
        assert row["examples"] > 0 and row["examples_per_s"] > 0
        assert row["mb_per_s"] == pytest.approx(
            row["examples_per_s"] * summary["example_bytes"] / 1e6, rel=1e-3, abs=0.1
        )
    assert summary["handoff_measured"] is True
    judged = summary["verdict"]  # without a step time: the shortest step each count feeds
    assert judged["pattern"] == "torch DataLoader" and judged["keeps_up"] is None
    loader = {w: rows["torch DataLoader", w]["examples_per_s"] for w in (0, 2)}
    for w in (0, 2):
        assert judged["shortest_step_ms"][str(w)] == pytest.approx(1000 * 8 / loader[w], rel=1e-2)
    cache = summary["page_cache"]
    assert cache["cold"] is False and 0 <= cache["resident_before"] <= 1 and cache["fits"]


def test_table_and_a_step_time_the_loader_meets(dataset):
    result = _bench(dataset, "--workers", "0", "--step-ms", "100000")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "113 examples" in lines[0] and "0 workers: ex/s" in lines[1]
    assert [line.split()[0] for line in lines[2:7]] == [
        "sequential",
        "random",
        "random",
        "shuffled",
        "torch",
    ]
    assert "of the dataset was in the page cache" in lines[7]
    assert lines[8].startswith("torch DataLoader: batches as the training process receives")
    assert lines[9].startswith("keeps up: ") and "every 100000 ms" in lines[9]
    assert "(torch DataLoader)" in lines[9]


def test_without_a_step_time_the_verdict_is_the_shortest_step_fed(dataset):
    lines = _bench(dataset, "--workers", "0").stdout.splitlines()
    assert lines[-1].startswith("with a batch of 64 (torch DataLoader), this loader feeds 0 ")
    assert "give --step-ms" in lines[-1]


def test_cold_takes_the_dataset_out_of_the_page_cache(dataset):
    from spectroprep.bench.cache import dataset_files, evict, resident

    info = json.loads((dataset / "dataset.json").read_text())
    files = dataset_files(dataset, info)
    for path in files:
        with open(path, "rb") as f:
            f.read()
    assert resident(files) > 0.9
    evict(files)
    if resident(files) > 0.5:
        pytest.skip("this file system keeps its pages (tmpfs): nothing to evict")
    result = _bench(dataset, "--workers", "0", "--cold", "--json")
    assert json.loads(result.stdout)["page_cache"]["cold"] is True
    assert "cold: each measurement began" in _bench(dataset, "--workers", "0", "--cold").stdout


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
    assert judged.pattern == "shuffled epoch"  # no DataLoader among the rates
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
