"""Cutting a dataset into splits by group, so that no group (by default a source
recording) has examples in two splits, optionally stratified by class.

Groups are assigned greedily, largest first (ties in a seeded random order): each
goes to the split whose shares it brings closest to the requested ratios, the
shares being the split's fraction of all examples and, when stratified, of each
class's examples. The last groups fill any split still empty, so every split gets
a group when there are enough. The result depends on the groups, their labels and
the seed only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a split's folder name
_TOLERANCE = 1e-6  # of the ratios' sum


def check_split_name(name: str, where: str) -> str:
    """``name`` if it can name a split's folder, else a ConfigError."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: {name!r} cannot name a split folder (letters, digits, '_', '.', '-')"
        )
    return name


@dataclass(frozen=True)
class SplitMap:
    """Which values of a column go into which split; ``rest`` takes the others."""

    splits: dict[str, tuple[str, ...]]  # split name -> its values, in the order given
    rest: str | None = None

    def split_of(self, value: str) -> str | None:
        for name, values in self.splits.items():
            if value in values:
                return name
        return self.rest


def parse_split_map(text: str) -> SplitMap:
    """``"train=1,2,3;val=4;test=5"`` (and ``";rest=NAME"`` for every value not named)."""
    splits: dict[str, tuple[str, ...]] = {}
    rest = None
    seen: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, values = (s.strip() for s in part.partition("="))
        if not sep or not values:
            raise ConfigError(f"--split-map {text}: {part.strip()!r} is not NAME=VALUE,VALUE...")
        if name == "rest":
            rest = check_split_name(values, f"--split-map {text}")
            continue
        check_split_name(name, f"--split-map {text}")
        if name in splits:
            raise ConfigError(f"--split-map {text}: {name} is named twice")
        cells = tuple(v.strip() for v in values.split(","))
        for value in cells:
            if value in seen:
                raise ConfigError(
                    f"--split-map {text}: {value!r} is in {seen[value]} and in {name}"
                )
            seen[value] = name
        splits[name] = cells
    if rest is not None and rest in splits:
        raise ConfigError(f"--split-map {text}: rest={rest} names a split given its values")
    return SplitMap(splits, rest)


def parse_ratios(text: str) -> dict[str, float]:
    """``"train=0.8,val=0.1,test=0.1"`` as {name: ratio}; the ratios must sum to 1."""
    ratios: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep:
            raise ConfigError(f"--split {text}: {part.strip()!r} is not NAME=RATIO")
        check_split_name(name, f"--split {text}")
        try:
            ratio = float(value)
        except ValueError:
            raise ConfigError(f"--split {text}: {value!r} is not a number") from None
        if not 0 < ratio <= 1:
            raise ConfigError(f"--split {text}: the ratio of {name} must be in (0, 1]")
        if name in ratios:
            raise ConfigError(f"--split {text}: {name} is named twice")
        ratios[name] = ratio
    total = sum(ratios.values())
    if abs(total - 1) > _TOLERANCE:
        raise ConfigError(f"--split {text}: the ratios sum to {total:g}, not 1")
    return ratios


def assign_groups(
    sizes: np.ndarray,
    ratios: Sequence[float],
    seed: int,
    class_counts: np.ndarray | None = None,
) -> np.ndarray:
    """The split of each group: ``sizes`` (G,) examples per group; ``class_counts``
    (G, C) examples (or positive labels) of each class per group, to stratify."""
    target = np.asarray(ratios, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    # the quantities whose shares should follow the ratios: examples, then each class
    # (the examples' share weighs as much as all classes together)
    weights = sizes[:, None]
    if class_counts is not None:
        present = class_counts.sum(axis=0) > 0
        weights = np.hstack([weights, class_counts[:, present].astype(np.float64)])
    totals = weights.sum(axis=0)
    totals[totals == 0] = 1.0
    fractions = weights / totals  # each group's part of each quantity
    importance = np.ones(weights.shape[1])
    importance[0] = max(weights.shape[1] - 1, 1)
    ties = np.random.default_rng(seed).permutation(len(sizes))
    order = ties[np.argsort(-sizes[ties], kind="stable")]
    shares = np.zeros((len(target), weights.shape[1]))
    split_of = np.empty(len(sizes), dtype=np.int64)
    empty = set(range(len(target)))
    for done, g in enumerate(order):
        f = fractions[g]
        # the weighted squared distance to the ratios grows by this when g joins split s
        growth = ((2 * (shares - target[:, None]) * f + f * f) * importance).sum(axis=1)
        if len(order) - done <= len(empty):
            # as many groups left as empty splits: one each, so that no split is empty
            growth[[s for s in range(len(target)) if s not in empty]] = np.inf
        s = int(np.argmin(growth))
        split_of[g] = s
        shares[s] += f
        empty.discard(s)
    _improve(split_of, shares, fractions, target, importance)
    return split_of


def _improve(
    split_of: np.ndarray,
    shares: np.ndarray,
    fractions: np.ndarray,
    target: np.ndarray,
    importance: np.ndarray,
    passes: int = 5,
) -> None:
    """In place: move single groups to another split while a move brings the shares
    nearer the ratios (the greedy pass places the largest groups before it knows
    where the small ones go), never emptying a split."""
    members = np.bincount(split_of, minlength=len(target))
    for _ in range(passes):
        moved = False
        for g in np.argsort(fractions[:, 0], kind="stable"):
            here, f = split_of[g], fractions[g]
            if members[here] == 1:
                continue
            # change of the weighted squared distance: leave ``here``, join each split
            leave = ((-2 * (shares[here] - target[here]) * f + f * f) * importance).sum()
            join = ((2 * (shares - target[:, None]) * f + f * f) * importance).sum(axis=1)
            join[here] = np.inf
            best = int(np.argmin(join))
            if leave + join[best] < -1e-12:
                shares[here] -= f
                shares[best] += f
                split_of[g] = best
                members[here] -= 1
                members[best] += 1
                moved = True
        if not moved:
            return


def achieved_shares(
    names: Sequence[str],
    split_of_example: np.ndarray,
    class_counts: np.ndarray | None,
    classes: Sequence[str],
) -> dict[str, Any]:
    """Each split's share of all examples and (``class_counts`` (S, C) given) of each
    class's examples, rounded to 4 places, as dataset.json and the command report them."""
    n = max(len(split_of_example), 1)
    per_split = np.bincount(split_of_example, minlength=len(names))
    out: dict[str, Any] = {}
    for s, name in enumerate(names):
        entry: dict[str, Any] = {
            "examples": int(per_split[s]),
            "share": round(per_split[s] / n, 4),
        }
        if class_counts is not None:
            totals = class_counts.sum(axis=0)
            entry["per_class"] = {
                c: round(float(class_counts[s, k] / totals[k]), 4) if totals[k] else None
                for k, c in enumerate(classes)
            }
        out[name] = entry
    return out


def shares_line(name: str, entry: Mapping[str, Any], ratio: float | None) -> str:
    """One split's shares on a line: examples, share (of ratio), per-class range."""
    line = f"{name}: {entry['examples']} examples, share {entry['share']:.3f}"
    if ratio is not None:
        line += f" (asked {ratio:g})"
    shares = [v for v in entry.get("per_class", {}).values() if v is not None]
    if shares:
        line += f"; per class {min(shares):.3f} to {max(shares):.3f}"
    return line
