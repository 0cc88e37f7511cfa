"""Two DDP ranks (torch.distributed, gloo) with two persistent DataLoader workers each:
every epoch a new order, every example once over the ranks, and with ``even=True`` the
same number of batches on every rank."""

import json
import socket
import subprocess
import sys
import textwrap

import pytest
from conftest import build_small

import spectroprep

RANK = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch.utils.data import DataLoader
    from spectroprep.torch import BatchDataset

    path, port, rank, even, out = sys.argv[1:]
    rank, even = int(rank), even == "1"
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    batches = BatchDataset(path, batch_size=4, seed=3, even=even)
    loader = DataLoader(batches, batch_size=None, num_workers=2, persistent_workers=True)
    epochs = []
    for epoch in range(3):
        batches.set_epoch(epoch)
        seen = [[row.numpy().tobytes().hex() for row in x] for x, _ in loader]
        epochs.append(seen)
        dist.barrier()
    with open(out, "w") as f:
        json.dump(epochs, f)
    dist.destroy_process_group()
    """
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "ddp")


@pytest.mark.parametrize("even", [False, True])
def test_two_ranks_with_kept_workers_read_each_example_once_per_epoch(dataset, tmp_path, even):
    script = tmp_path / "rank.py"
    script.write_text(RANK)
    port = str(_free_port())
    outs = [tmp_path / f"rank{r}.json" for r in range(2)]
    ranks = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(dataset),
                port,
                str(r),
                "1" if even else "0",
                str(outs[r]),
            ]
        )
        for r in range(2)
    ]
    try:
        for rank in ranks:
            assert rank.wait(timeout=120) == 0
    finally:  # a rank that failed leaves the other waiting at its barrier
        for rank in ranks:
            rank.kill()
    runs = [json.loads(out.read_text()) for out in outs]  # [rank][epoch][batch][row]
    with spectroprep.open_dataset(dataset) as ds:
        everything = sorted(r.tobytes().hex() for r in ds.get_batch(range(len(ds)))[0])
    orders = []
    for epoch in range(3):
        rows = [row for rank in runs for batch in rank[epoch] for row in batch]
        if even:
            assert len(runs[0][epoch]) == len(runs[1][epoch])  # the same batches on each rank
            # 2 ranks x 2 workers read the mean, rounded up: a few cut or repeated
            assert len(rows) == 4 * -(-len(everything) // 4)
            assert set(rows) <= set(everything) and len(set(rows)) > len(everything) - 13
        else:
            assert sorted(rows) == everything
        orders.append(rows)
    assert orders[0] != orders[1] != orders[2]
    if not even:  # 9 shards of 12-13 over 4 readers: 63 and 50 examples, unequal batches
        assert len(runs[0][0]) != len(runs[1][0])
