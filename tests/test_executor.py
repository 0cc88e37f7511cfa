"""The executor seam: build and shard run their tasks on any object with
``run(calls)``, and give the same bytes as the local process pool."""

import pickle
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager

import pytest
from conftest import SMALL, build, tree_checksums

import spectroprep
from spectroprep.errors import WorkerDied

SMALL_FILES = [*SMALL, "storage.block_size=13"]


class Threads:
    """Runs the calls on threads, after a round trip through pickle (as a
    cluster's executor would send them), and finishes them out of order."""

    def __init__(self) -> None:
        self.calls = 0

    @contextmanager
    def run(self, calls) -> Iterator[Iterator[tuple[int, object]]]:
        shipped = [pickle.loads(pickle.dumps(call)) for call in calls]
        self.calls += len(shipped)
        with ThreadPoolExecutor(2) as pool:
            futures = {pool.submit(call): k for k, call in enumerate(reversed(shipped))}
            n = len(shipped)
            yield ((n - 1 - futures[f], f.result()) for f in as_completed(futures))


class DiesAfterOne:
    """Runs the first call, then reports a dead worker."""

    @contextmanager
    def run(self, calls) -> Iterator[Iterator[tuple[int, object]]]:
        def results() -> Iterator[tuple[int, object]]:
            for position, call in enumerate(calls):
                if position:
                    raise WorkerDied("a worker process died: killed, or out of memory")
                yield position, call()

        yield results()


@pytest.mark.parametrize("fmt", ["hdf5", "npy"])
def test_a_build_and_a_shard_on_another_executor_equal_the_process_pool(corpus, tmp_path, fmt):
    threads = Threads()
    ours = spectroprep.build(
        corpus,
        tmp_path / "threads",
        labels_from_folders=True,
        overrides=SMALL_FILES,
        format=fmt,
        executor=threads,
    )
    pool = build(
        corpus,
        tmp_path / "pool",
        labels_from_folders=True,
        overrides=SMALL_FILES,
        format=fmt,
        jobs=2,
    )
    assert threads.calls == len(spectroprep.open_dataset(pool).info["files"]) > 1
    files = {k: v for k, v in tree_checksums(ours).items() if k != "dataset.json"}
    assert files == {k: v for k, v in tree_checksums(pool).items() if k != "dataset.json"}

    split = spectroprep.shard(ours, tmp_path / "split", split="a=0.5,b=0.5", executor=threads)
    pooled = spectroprep.shard(pool, tmp_path / "split2", split="a=0.5,b=0.5", jobs=2)
    for name in ("a", "b"):
        assert (
            tree_checksums(split.datasets[name]).keys()
            == tree_checksums(pooled.datasets[name]).keys()
        )
        assert (
            spectroprep.open_dataset(split.datasets[name]).get_batch(range(3))[0].tobytes()
            == spectroprep.open_dataset(pooled.datasets[name]).get_batch(range(3))[0].tobytes()
        )


def test_a_dead_worker_keeps_the_finished_shards_for_resume(corpus, tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(WorkerDied, match="--resume"):
        spectroprep.build(
            corpus, out, labels_from_folders=True, overrides=SMALL, executor=DiesAfterOne()
        )
    assert not (out / "dataset.json").exists()
    assert len(list((out / "shards").glob("*.h5"))) == 1
    resumed = build(corpus, out, labels_from_folders=True, overrides=SMALL, resume=True)
    clean = build(corpus, tmp_path / "clean", labels_from_folders=True, overrides=SMALL)
    files = {k: v for k, v in tree_checksums(resumed).items() if k != "dataset.json"}
    assert files == {k: v for k, v in tree_checksums(clean).items() if k != "dataset.json"}


def test_jobs_and_an_executor_exclude_each_other(corpus, tmp_path):
    with pytest.raises(ValueError, match="not both"):
        spectroprep.build(corpus, tmp_path / "ds", jobs=2, executor=Threads())
    assert not (tmp_path / "ds").exists()
