"""How close grouped splits come to the asked shares: spectroprep's ``--split
train=0.8,val=0.1,test=0.1`` (with and without ``--stratify``) against
scikit-learn's StratifiedGroupKFold (10 folds: 8 train, 1 val, 1 test) on the same
groups, example counts and classes.

Two group structures: the real-like corpus of benchmarks/real_corpus.py (174
clips of 1 s to 10 min in four class folders; one example per second), and 501
sources of which five long recordings hold about 60 % of the examples (two or three
classes each) among short single-class clips, three seeds. Reported per split:
the share of examples, the mean absolute error of the shares against the ratios,
of every class's shares, and val's smallest and largest class share. Prints
markdown; no audio is written.

Usage: python benchmarks/split_quality.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_corpus import plan_corpus  # noqa: E402

from spectroprep.reshard.split import assign_groups  # noqa: E402

RATIOS = np.array([0.8, 0.1, 0.1])


def real_like() -> tuple[np.ndarray, np.ndarray]:
    clips = plan_corpus()
    classes = sorted({c.kind for c in clips})
    sizes = np.array([max(1, round(c.seconds)) for c in clips])
    counts = np.zeros((len(clips), len(classes)), dtype=np.int64)
    for g, clip in enumerate(clips):
        counts[g, classes.index(clip.kind)] = sizes[g]
    return sizes, counts


def few_long(seed: int, groups: int = 501, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = np.concatenate([rng.integers(300, 900, 5), rng.integers(1, 8, groups - 5)])
    counts = np.zeros((groups, classes), dtype=np.int64)
    for g in range(groups):
        k = int(rng.integers(2, 4)) if g < 5 else 1
        counts[g, rng.choice(classes, k, replace=False)] = max(1, sizes[g] // k)
    return sizes, counts


def sklearn_split(sizes: np.ndarray, counts: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    groups = np.repeat(np.arange(len(sizes)), sizes)
    y = np.repeat(counts.argmax(axis=1), sizes)  # one class per example: the group's main one
    fold = np.empty(len(y), dtype=np.int64)
    folds = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(folds.split(np.zeros(len(y)), y, groups)):
        fold[test] = k
    of_group = fold[np.searchsorted(groups, np.arange(len(sizes)))]
    return np.where(of_group < 8, 0, np.where(of_group == 8, 1, 2))


def quality(split_of: np.ndarray, sizes: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    shares = np.bincount(split_of, weights=sizes, minlength=3) / sizes.sum()
    present = counts.sum(axis=0) > 0
    per_class = np.stack([counts[split_of == s].sum(axis=0) for s in range(3)])[:, present]
    per_class = per_class / counts.sum(axis=0)[present]
    return {
        "train": shares[0],
        "val": shares[1],
        "test": shares[2],
        "share_error": float(np.abs(shares - RATIOS).mean()),
        "class_error": float(np.abs(per_class - RATIOS[:, None]).mean()),
        "val_min": float(per_class[1].min()),
        "val_max": float(per_class[1].max()),
    }


def methods(sizes: np.ndarray, counts: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    return {
        "spectroprep --split": quality(assign_groups(sizes, RATIOS, seed), sizes, counts),
        "spectroprep --split --stratify": quality(
            assign_groups(sizes, RATIOS, seed, counts), sizes, counts
        ),
        "StratifiedGroupKFold 8/1/1": quality(sklearn_split(sizes, counts, seed), sizes, counts),
    }


def main() -> int:
    cases = [("real-like corpus (174 clips, 4 classes)", real_like(), 0)] + [
        (f"501 sources, 5 long, 10 classes, seed {s}", few_long(s), s) for s in range(3)
    ]
    print("| structure | method | train | val | test | share error | class error | val per class |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, (sizes, counts), seed in cases:
        for method, q in methods(sizes, counts, seed).items():
            print(
                f"| {name} | {method} | {q['train']:.3f} | {q['val']:.3f} | {q['test']:.3f} | "
                f"{q['share_error']:.4f} | {q['class_error']:.4f} | "
                f"{q['val_min']:.3f}-{q['val_max']:.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
