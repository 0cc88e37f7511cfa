"""Grouped, stratified splits land at least as close to the asked shares as
scikit-learn's StratifiedGroupKFold (a test-only reference) on the same groups:
a few long recordings of several classes among many short single-class clips
(benchmarks/split_quality.py's structure and measures)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from split_quality import RATIOS, few_long, quality, sklearn_split  # noqa: E402

from spectroprep.reshard.split import assign_groups  # noqa: E402


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_groups_are_at_least_as_close_as_scikit_learn(seed):
    sizes, counts = few_long(seed)
    ours = quality(assign_groups(sizes, RATIOS, seed, counts), sizes, counts)
    theirs = quality(sklearn_split(sizes, counts, seed), sizes, counts)
    assert ours["share_error"] <= theirs["share_error"], (ours, theirs)
    assert ours["class_error"] <= theirs["class_error"], (ours, theirs)
    assert ours["class_error"] < 0.01  # every class within about a point of its ratio


def test_no_split_is_left_empty_by_the_moves():
    split_of = assign_groups(np.array([50, 1, 1, 1]), [0.8, 0.1, 0.1], 0)
    assert (np.bincount(split_of, minlength=3) > 0).all()
