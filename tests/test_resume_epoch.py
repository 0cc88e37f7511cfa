"""Resuming mid-epoch: a loop stopped after k batches and restarted from its saved state
gets exactly the rest of that epoch, in the same order, nothing repeated or skipped."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import build_small
from torch.utils.data import DataLoader
from torchdata.stateful_dataloader import StatefulDataLoader

import spectroprep
from spectroprep.torch import BatchDataset, ExampleDataset

# torchdata 0.11 calls an API torch 2.13 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:'set_vital' is deprecated:UserWarning")


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "resume-epoch")


def _rows(batches):
    return [row.tobytes() for x, _ in batches for row in np.asarray(x)]


@pytest.mark.parametrize("prefetch", [0, 2])
def test_an_epoch_of_batches_goes_on_from_its_state(dataset, prefetch):
    ds = spectroprep.open_dataset(dataset)
    it = ds.batches(8, seed=4, epoch=2, prefetch=prefetch, shuffle_window=16)
    whole = _rows(ds.batches(8, seed=4, epoch=2, prefetch=prefetch, shuffle_window=16))
    taken = [next(it) for _ in range(5)]
    state = json.loads(json.dumps(it.state_dict()))  # a state survives being saved
    it.close()
    assert state["start"] == 5
    rest = _rows(ds.batches(**state))
    assert _rows(taken) + rest == whole
    fresh = ds.batches(8)
    fresh.load_state_dict(state)
    assert _rows(fresh) == rest
    # a random seed is drawn and kept, so an epoch without one resumes too
    unseeded = ds.batches(8, prefetch=prefetch)
    first = _rows([next(unseeded)])
    assert first + _rows(ds.batches(**unseeded.state_dict())) == _rows(
        ds.batches(**{**unseeded.state_dict(), "start": 0})
    )
    with pytest.raises(RuntimeError, match="before the first batch"):
        unseeded.load_state_dict(state)


def test_a_batch_dataset_goes_on_from_its_state(dataset):
    epoch0 = _rows(BatchDataset(dataset, batch_size=8, seed=1))
    first = BatchDataset(dataset, batch_size=8, seed=1)
    first.set_epoch(1)
    it = iter(first)
    taken = [next(it) for _ in range(4)]
    state = first.state_dict()
    assert state["epoch"] == 1 and state["batches"] == 4
    again = BatchDataset(dataset, batch_size=8, seed=1)
    again.load_state_dict(state)
    reference = BatchDataset(dataset, batch_size=8, seed=1)
    reference.set_epoch(1)
    assert _rows(taken) + _rows(again) == _rows(reference)
    assert _rows(again) == _rows(reference)  # the next iteration is a whole epoch again
    assert epoch0 != _rows(reference)


@pytest.mark.parametrize("workers", [0, 2])
def test_stateful_dataloader_resumes_batch_dataset_with_workers(dataset, workers):
    def loader(batches):
        return StatefulDataLoader(batches, batch_size=None, num_workers=workers)

    reference = _rows(loader(BatchDataset(dataset, batch_size=4, seed=9)))
    batches = BatchDataset(dataset, batch_size=4, seed=9)
    first = loader(batches)
    it = iter(first)
    taken = [next(it) for _ in range(7)]
    state = first.state_dict()
    del it, first
    again = loader(BatchDataset(dataset, batch_size=4, seed=9))
    again.load_state_dict(state)
    assert _rows(taken) + _rows(again) == reference


def test_stateful_dataloader_resumes_example_dataset_batch_sampler(dataset):
    def loader():
        examples = ExampleDataset(dataset)
        return StatefulDataLoader(
            examples, batch_sampler=examples.batch_sampler(batch_size=8, seed=5), num_workers=2
        )

    reference = [x.numpy().tobytes() for x, _ in loader()]
    first = loader()
    it = iter(first)
    taken = [next(it)[0].numpy().tobytes() for _ in range(3)]
    state = first.state_dict()
    del it, first
    again = loader()
    again.load_state_dict(state)
    assert taken + [x.numpy().tobytes() for x, _ in again] == reference


LOOP = textwrap.dedent(
    """
    import json, os, sys, time
    import torch
    from torchdata.stateful_dataloader import StatefulDataLoader
    from spectroprep.torch import BatchDataset

    path, out, state_file = sys.argv[1], sys.argv[2], sys.argv[3]
    loader = StatefulDataLoader(BatchDataset(path, batch_size=4, seed=11), batch_size=None,
                                num_workers=2)
    if os.path.exists(state_file):
        loader.load_state_dict(torch.load(state_file))
    with open(out, "a") as seen:
        for x, _ in loader:
            for row in x:
                seen.write(row.numpy().tobytes().hex() + "\\n")
            seen.flush()
            torch.save(loader.state_dict(), state_file + ".tmp")
            os.replace(state_file + ".tmp", state_file)  # a kill never leaves half a state
            time.sleep(0.05)  # a training step
    """
)


def test_a_loop_killed_mid_epoch_and_restarted_sees_each_example_once(dataset, tmp_path):
    script, out, state = tmp_path / "loop.py", tmp_path / "seen.txt", tmp_path / "state.pt"
    script.write_text(LOOP)
    command = [sys.executable, str(script), str(dataset), str(out), str(state)]
    loop = subprocess.Popen(command, start_new_session=True)
    deadline = time.monotonic() + 60
    while (not out.exists() or len(out.read_text().splitlines()) < 20) and loop.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(loop.pid, signal.SIGKILL)  # the loop and its workers, mid-epoch
    loop.wait()
    # rows written after the last saved state are the ones the restart reads again
    kept = len(out.read_text().splitlines())
    assert 20 <= kept < len(spectroprep.open_dataset(dataset))
    restarted = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    seen = out.read_text().splitlines()
    with spectroprep.open_dataset(dataset) as ds:
        everything = sorted(row.tobytes().hex() for row in ds.get_batch(range(len(ds)))[0])
    reference = BatchDataset(dataset, batch_size=4, seed=11)
    order = [r.numpy().tobytes().hex() for x, _ in DataLoader(reference, batch_size=None,
             num_workers=2) for r in x]  # fmt: skip
    # a batch written but not yet in the saved state appears twice; the state is saved
    # after each batch is written, so at most the last batch before the kill repeats
    assert sorted(set(seen)) == everything
    assert len(seen) - len(everything) <= 4
    deduplicated = list(dict.fromkeys(seen))
    assert deduplicated == order


@pytest.mark.parametrize("at", ["mid-epoch", "epoch end", "first step"])
def test_kept_workers_over_epochs_resume_from_any_checkpoint(dataset, at):
    """Persistent workers (torchdata asks each for its state as an epoch starts), a second
    epoch, and checkpoints in its middle, at the first epoch's end, and at the second
    epoch's first step (before every worker has handed out a batch)."""

    def loader(batches):
        return StatefulDataLoader(batches, batch_size=None, num_workers=2, persistent_workers=True)

    reference_batches = BatchDataset(dataset, batch_size=4, seed=2)
    reference = loader(reference_batches)
    epochs = []
    for epoch in range(2):
        reference_batches.set_epoch(epoch)
        epochs.append(_rows(reference))
    batches = BatchDataset(dataset, batch_size=4, seed=2)
    first = loader(batches)
    list(first)  # epoch 0
    if at == "epoch end":
        state, taken = first.state_dict(), []
    else:
        batches.set_epoch(1)
        it = iter(first)
        taken = [next(it) for _ in range(1 if at == "first step" else 9)]
        state = first.state_dict()
        del it
    del first
    again = BatchDataset(dataset, batch_size=4, seed=2)
    resumed = loader(again)
    resumed.load_state_dict(state)
    again.set_epoch(1)  # the training loop sets each epoch, as always
    assert _rows(taken) + _rows(resumed) == epochs[1]
