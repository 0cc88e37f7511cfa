import numpy as np
import pytest

from spectroprep.builder.plan import plan_shards
from spectroprep.dataset.datafile import file_sizes
from spectroprep.ingest.segments import Region, count_windows, cut_windows, region_span


@pytest.mark.parametrize(
    "samples, window, hop, pad, expected",
    [
        (0, 100, 100, "zero", 0),
        (0, 100, 100, "drop", 0),
        (1, 100, 100, "zero", 1),  # shorter than one window: one padded example
        (99, 100, 100, "drop", 0),
        (100, 100, 100, "zero", 1),
        (100, 100, 100, "drop", 1),
        (250, 100, 100, "zero", 3),
        (250, 100, 100, "drop", 2),
        (300, 100, 100, "zero", 3),
        (220, 100, 50, "zero", 4),  # full at 0, 50, 100; one partial at 150 covers the rest
        (220, 100, 50, "drop", 3),
        (200, 100, 50, "zero", 3),
        (150, 100, 200, "zero", 1),  # hop > window: the next start (200) is past the end
        (250, 100, 200, "zero", 2),  # ... here it is inside: one padded window at 200
        (250, 100, 200, "drop", 1),
        (120, 100, 200, "drop", 1),
    ],
)
def test_count_windows(samples, window, hop, pad, expected):
    assert count_windows(samples, window, hop, pad) == expected


@pytest.mark.parametrize("hop", [30, 100, 170])
def test_every_window_starts_inside_and_zero_padding_reaches_the_end(hop):
    for samples in range(1, 600, 7):
        n = count_windows(samples, 100, hop, "zero")
        assert (n - 1) * hop < samples  # the last window starts inside the audio
        if hop <= 100:
            assert samples <= (n - 1) * hop + 100  # and, without gaps, reaches its end


def test_cut_windows_pads_with_zeros():
    x = np.arange(1, 251, dtype=np.float32)
    w = cut_windows(x, 3, 100, 100)
    assert w.shape == (3, 100)
    np.testing.assert_array_equal(w[1], np.arange(101, 201))
    np.testing.assert_array_equal(w[2, :50], np.arange(201, 251))
    assert not w[2, 50:].any()
    assert region_span(2, 3, 100, 50) == (100, 300)


def test_plan_splits_sources_across_equal_shards_in_order():
    plans = plan_shards([3, 0, 5, 1], per_shard=4)  # 9 examples: 3 files of at most 4
    assert [p.n_examples for p in plans] == [3, 3, 3]
    assert [p.first_example for p in plans] == [0, 3, 6]
    assert plans[0].regions == (Region(0, 0, 3),)
    assert plans[1].regions == (Region(2, 0, 3),)
    assert plans[2].regions == (Region(2, 3, 2), Region(3, 0, 1))


@pytest.mark.parametrize("total", [1, 7, 511, 512, 513, 1800, 3600])
@pytest.mark.parametrize("most", [1, 4, 512])
def test_file_sizes_are_fewest_files_equal_to_one_example(total, most):
    sizes = file_sizes(total, most)
    assert sum(sizes) == total and max(sizes) <= most
    assert len(sizes) == -(-total // most)  # no more files than the limit needs
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_plan_of_nothing_is_empty():
    assert plan_shards([0, 0], per_shard=10) == []
