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


@pytest.mark.parametrize(
    ("samples", "min_last", "expected"),
    [
        (16_023, 800, 1),  # a 23-sample tail after one window: left out
        (16_800, 800, 2),  # exactly min_last of audio: kept
        (16_000, 800, 1),  # no tail at all
        (500, 800, 0),  # a file shorter than min_last gives no window
        (900, 800, 1),
        (16_023, 0, 2),  # min_last 0 keeps every tail, as before the key existed
    ],
)
def test_min_last_leaves_out_short_padded_windows(samples, min_last, expected):
    assert count_windows(samples, 16_000, 16_000, "zero", min_last) == expected


def test_a_build_leaves_out_a_short_tail_and_counts_it(tmp_path):
    """A 48 kHz stereo FLAC 1.4 ms longer than two windows, a 44.1 kHz OGG with a 0.3 s
    tail and a 20 ms WAV: the first's tail and the last file are no examples."""
    from conftest import write_audio

    import spectroprep

    audio = tmp_path / "audio"
    write_audio(audio / "drums" / "loop.flac", 2.0014, 48000, channels=2, seed=1)
    write_audio(audio / "rain" / "field.ogg", 1.3, 44100, seed=2)
    write_audio(audio / "rain" / "click.wav", 0.02, 44100, seed=3)
    out = spectroprep.build(audio, tmp_path / "ds", labels_from_folders=True, jobs=1)
    ds = spectroprep.open_dataset(out)
    counts = ds.info["counts"]
    assert len(ds) == 2 + 2 and counts["short_tails"] == 1 and counts["rejected"] == 1
    assert ds.info["config"]["segment"]["min_last"] == 0.05
    rejected = (out / "rejected.csv").read_text()
    assert "click.wav" in rejected and "shorter than segment.min_last (0.05 s)" in rejected
    every = spectroprep.build(
        audio, tmp_path / "all", labels_from_folders=True, jobs=1, overrides=["segment.min_last=0"]
    )
    assert len(spectroprep.open_dataset(every)) == 3 + 2 + 1
