"""Reading a built dataset: random examples, batches and training epochs.

A Dataset holds no open file until it reads, opens files once per process, and
pickles without handles, so it can be handed to multi-process data loaders.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..dataset.frame_events import FrameReader, frame_storage
from ..dataset.layout import FileRecord, check_inside, read_dataset_json
from ..dataset.manifest_table import ManifestTable, read_manifest_table
from ..dataset.source_stats import read_source_statistics, records_own_statistics
from ..dataset.stats import normalizer
from ..dataset.storage import get_format
from ..errors import DatasetError
from .augment import Transform, transformed
from .balance import drawn_order, sampling_weights, weights_digest_of
from .epochs import Batch, epoch_order, fitted, run_length, window_batches
from .prefetch import prefetched
from .resume import EpochBatches
from .subset import Where, subset_statistics, where_positions

TARGETS = ("labels", "frames")
NORMALIZE = ("bins", "global")  # or True (bins) / False
SHUFFLE_WINDOW = 1024  # examples shuffled together by batches(): ~100 MB at (257, 101) float32


def file_runs(
    starts: np.ndarray, positions: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """For each data file holding some of ``positions`` (0-based example positions;
    ``starts``: each file's first position, then the total): the file, where its
    examples are in ``positions``, and their rows in the file, ascending."""
    files = np.searchsorted(starts, positions, side="right") - 1
    rows = positions - starts[files]
    order = np.lexsort((rows, files))
    bounds = np.flatnonzero(np.diff(files[order])) + 1
    for group in np.split(order, bounds) if len(order) else []:
        yield int(files[group[0]]), group, rows[group]


_FIRST = np.zeros(1, dtype=np.int64)


class Dataset:
    """A spectroprep dataset on disk: ``len(ds)``, ``ds[i]``, ``ds.get_batch(indices)``.

    Each example comes with its label (``targets="labels"``: a class id, a
    multi-hot (C,) uint8 vector, or None when unlabelled) or, for event
    datasets with ``targets="frames"``, its (T, C) uint8 frame targets.

    ``where`` reads a subset chosen by manifest values, e.g. ``{"fold": [1, 2, 3]}``
    (a value or a list of values per column; source, label or a metadata column;
    columns combine with "and"): ``len``, indices, ``labels``, ``ids`` and epochs
    are then the subset's, and its files are still read a chunk at a time.

    ``normalize=True`` (or ``"bins"``) returns float32 features standardised
    with the dataset's per-frequency-bin mean and std; ``"global"`` with its
    overall mean and std (both from dataset.json's "statistics"). With ``where``,
    or ``statistics_where`` (e.g. the training folds, to normalise a validation
    fold as the model saw its training data), the statistics are those of that
    subset, merged from the per-source statistics the dataset stores; the subset
    must hold whole sources (a fold does). A split that records its training
    split's statistics (``shard``'s val and test) keeps them with ``where`` too,
    unless ``statistics_where`` says otherwise.

    Uncompressed HDF5 features are read straight from their chunks' file offsets;
    ``verify_checksums=True`` reads them through HDF5 instead, which checks each
    chunk's checksum on every read, at a fraction of the speed.

    At most ``open_files`` data files stay open per process (by default a quarter
    of the open-file limit, ``ulimit -n``); others are reopened when
    read, at the cost of one ``os.open`` each.
    """

    def __init__(
        self,
        path: str | Path,
        targets: str = "labels",
        normalize: bool | str = False,
        verify_checksums: bool = False,
        open_files: int | None = None,
        where: Where | None = None,
        statistics_where: Where | None = None,
    ) -> None:
        self.path = Path(path)
        self.info: dict[str, Any] = read_dataset_json(self.path)
        self.config = Config.from_recorded(self.info["config"], str(self.path / "dataset.json"))
        self.files = [FileRecord(**f) for f in self.info["files"]]
        for record in self.files:
            check_inside(self.path, record.path)
        self._starts = np.r_[0, np.cumsum([f.examples for f in self.files])].astype(np.int64)
        self._first_rows = self._starts.tolist()
        fmt = get_format(self.config.storage.format)
        self._reader = fmt.Reader(
            self.path, self.files, self.config.storage, verify_checksums, open_files
        )
        self._frames = FrameReader(
            self._reader,
            frame_storage(self.info["labels"]) if self.label_kind == "events" else "runs",
            self.files,
            (self.shape[1], len(self.classes)),
        )
        self._labels: np.ndarray | None = None
        self._every_label: np.ndarray | None = None
        self._manifest: ManifestTable | None = None
        if targets not in TARGETS:
            raise ValueError(f"targets must be one of {', '.join(TARGETS)}, not {targets!r}")
        if targets == "frames" and self.label_kind != "events":
            raise DatasetError(
                f"{self.path}: has no frame targets (label kind {self.label_kind!r}; "
                "frame targets come from --events)"
            )
        self.targets = targets
        if not isinstance(normalize, bool) and normalize not in NORMALIZE:
            raise ValueError(
                f"normalize must be True, False, 'bins' or 'global', not {normalize!r}"
            )
        self.where = dict(where) if where else None
        self._subset = where_positions(self.manifest, where, self.path) if where else None
        self._normalizer = None
        if normalize:
            # a split that records its training split's statistics (val, test) keeps them
            own = self.where if records_own_statistics(self.info) else None
            statistics = self._statistics(statistics_where or own)
            self._normalizer = normalizer(statistics, per_bin=normalize != "global")
        elif statistics_where:
            raise ValueError("statistics_where applies to normalize")

    def _statistics(self, where: Where | None) -> dict[str, Any]:
        """dataset.json's statistics, or those of the subset ``where`` selects."""
        if where is None:
            if "statistics" not in self.info:
                raise DatasetError(
                    f"{self.path}: dataset.json has no statistics to normalize with "
                    "(built by an older spectroprep: rebuild it)"
                )
            return self.info["statistics"]
        positions = self._subset if where is self.where else None
        if positions is None:
            positions = where_positions(self.manifest, where, self.path)
        sources = read_source_statistics(self.path, self.info)
        return subset_statistics(sources, positions, self.manifest, where, self.path)

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        """The resolved build parameters, as dataset.json records them."""
        return self.config.to_dict()

    @property
    def classes(self) -> list[str]:
        return list(self.info["labels"]["classes"])

    @property
    def label_kind(self) -> str:
        """ "single" or "per-window" (class ids), "multi" or "events" (multi-hot),
        or "none" (unlabelled: labels are None)."""
        return str(self.info["labels"]["kind"])

    @property
    def shape(self) -> tuple[int, int]:
        """(frequency bins, frames) of one example."""
        bins, frames = self.info["features"]["shape"]
        return int(bins), int(frames)

    @property
    def stored_dtype(self) -> np.dtype:
        """dtype of the features as stored (float32 or float16)."""
        return np.dtype(self.info["features"]["dtype"])

    @property
    def dtype(self) -> np.dtype:
        """dtype of the features returned: as stored, or float32 when normalised."""
        return np.dtype(np.float32 if self._normalizer else self.info["features"]["dtype"])

    def _normalized(self, x: np.ndarray) -> np.ndarray:
        if self._normalizer is None:
            return x
        shift, scale = self._normalizer
        if x.dtype != np.float32:
            return (x - shift) * scale
        x -= shift
        x *= scale
        return x

    @property
    def labels(self) -> np.ndarray | None:
        """Labels of all examples (of the subset), loaded on first use; None when
        unlabelled."""
        if self.label_kind == "none":
            return None
        if self._labels is None:
            if self._subset is None:
                files = range(len(self.files))
                self._labels = np.concatenate([self._reader.labels(i) for i in files])
            else:
                self._labels = self._all_labels()[self._subset]
        return self._labels

    @property
    def ids(self) -> np.ndarray:
        """The manifest id of each example (of the subset): ``ds[i]`` is id ``ids[i]``."""
        if self._subset is None:
            return np.arange(1, len(self) + 1)
        return self._subset + 1

    @property
    def file_examples(self) -> list[int]:
        """Examples (of the subset) in each data file."""
        if self._subset is None:
            return [f.examples for f in self.files]
        return np.diff(np.searchsorted(self._subset, self._starts)).tolist()

    @property
    def manifest(self) -> ManifestTable:
        """manifest.csv as arrays (text columns as codes into their distinct values),
        loaded on first use."""
        if self._manifest is None:
            self._manifest = read_manifest_table(self.path, self.info)
        return self._manifest

    @property
    def example_bytes(self) -> int:
        """Bytes of one stored example's features."""
        bins, frames = self.shape
        return bins * frames * np.dtype(self.info["features"]["dtype"]).itemsize

    def __len__(self) -> int:
        return int(self._starts[-1]) if self._subset is None else len(self._subset)

    def _positions(self, indices: Any) -> np.ndarray:
        idx = np.asarray(indices).reshape(-1)
        if idx.size and (idx.dtype == np.bool_ or not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError(f"indices must be integers, not {idx.dtype}")
        idx = idx.astype(np.int64, copy=False)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = idx[(idx < -n) | (idx >= n)][0]
            raise IndexError(f"index {bad} out of range for a dataset of {n} examples")
        idx = np.where(idx < 0, idx + n, idx)
        return idx if self._subset is None else self._subset[idx]

    def get_batch(self, indices: Any, out: np.ndarray | None = None) -> Batch:
        """Examples at ``indices`` in the order given: (X (B, F, T), y), y being
        (B,) class ids, (B, C) multi-hot, (B, T, C) frame targets, or None.

        Each file's rows are read in ascending order, adjacent ones together, into
        their places in the batch: into ``out`` when given (C-contiguous, of the stored
        dtype, B examples; normalised there in place when float32).
        """
        idx = self._positions(indices)
        shape, dtype = (len(idx), *self.shape), np.dtype(self.info["features"]["dtype"])
        if out is None:
            out = np.empty(shape, dtype=dtype)
        elif out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {dtype} array of shape {shape}")
        files = np.searchsorted(self._starts, idx, side="right") - 1
        rows, where = idx - self._starts[files], np.arange(len(idx))
        self._reader.gather(files, rows, out, where)
        frames = None
        if self.targets == "frames":
            frames = np.empty((len(idx), self.shape[1], len(self.classes)), dtype=np.uint8)
            self._frames.gather(files, rows, frames, where)
        out = self._normalized(out)
        if frames is not None:
            return out, frames
        if self.label_kind == "none":
            return out, None
        return out, self._all_labels()[idx]

    def _all_labels(self) -> np.ndarray:
        """The labels of every example of the dataset, by position."""
        if self._subset is None:
            labels = self.labels
            assert labels is not None  # asked for only when labelled
            return labels
        if self._every_label is None:
            files = range(len(self.files))
            self._every_label = np.concatenate([self._reader.labels(i) for i in files])
        return self._every_label

    def __getitem__(self, index: int) -> tuple[np.ndarray, Any]:
        if isinstance(index, bool | np.bool_) or not isinstance(index, int | np.integer):
            raise TypeError(f"index must be an integer, not {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} examples")
        i = int(index) % n
        i = i if self._subset is None else int(self._subset[i])
        file = bisect.bisect_right(self._first_rows, i) - 1  # lean path: no numpy set-up
        row = np.array([i - self._first_rows[file]])
        x = np.empty((1, *self.shape), dtype=self.info["features"]["dtype"])
        self._reader.read_into(file, row, x, _FIRST)
        x = self._normalized(x[0])
        if self.targets == "frames":
            frames = np.empty((1, self.shape[1], len(self.classes)), dtype=np.uint8)
            self._frames.read_into(file, row, frames, _FIRST)
            return x, frames[0]
        if self.label_kind == "none":
            return x, None
        return x, self._all_labels()[i]

    def batches(
        self,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int | None = None,
        epoch: int = 0,
        drop_last: bool = False,
        prefetch: int = 2,
        shuffle_window: int = SHUFFLE_WINDOW,
        shards: list[int] | None = None,
        length: int | None = None,
        start: int = 0,
        balance: str | None = None,
        weights: Any = None,
        transform: Transform | None = None,
        weights_digest: str | None = None,
    ) -> EpochBatches:
        """One epoch of (X, y) batches, every example exactly once (of ``shards``,
        data file indices, when given; see ShardSampler); ``length`` cuts the epoch
        to that many examples, or makes it up by repeating its first ones.

        With ``shuffle`` the order is chunk-aware: runs of a few chunks are
        shuffled, and examples are shuffled within windows of ``shuffle_window``
        examples, each read at once. The order depends only on ``seed`` and
        ``epoch`` (a random seed is drawn when it is None). ``prefetch`` batches are
        read ahead in a background thread (0: read in the caller).

        ``balance="class"`` draws the epoch with replacement so that every class comes
        as often, in expectation (with multi-hot labels: a class picked uniformly, then
        one of its examples); ``weights`` (one per example, at least 0) draws by them
        (times the class's, with both). Such an epoch has ``length`` examples (default:
        as many as it draws from), and is still read a window at a time.

        ``transform(x, y, rng)`` changes each batch (``read.augment``: SpecAugment,
        Mixup, Compose, or your own), with a generator seeded by (seed, epoch, batch),
        in the prefetch thread.

        The epoch begins at batch ``start``. Its ``state_dict()`` holds these
        arguments with ``start`` at the batches handed out so far:
        ``batches(**state)`` (or ``load_state_dict(state)`` before the first batch)
        goes on from there after a restart. A transform and weights are given again:
        the state keeps the weights' digest (not a number per example), and a resume
        with other weights, or none, is refused.
        """
        if batch_size < 1 or prefetch < 0 or start < 0:
            raise ValueError(
                f"batch_size must be at least 1, prefetch and start at least 0, not "
                f"{batch_size}, {prefetch} and {start}"
            )
        self._epoch_files(shuffle_window, shards)
        digest = weights_digest_of(weights)
        if weights_digest != digest and weights_digest is not None:
            raise ValueError(
                "this epoch was drawn by other weights: give the same weights= to resume it"
                if digest
                else "this epoch was drawn by weights: give the same weights= to resume it"
            )
        if seed is None:
            seed = drawn_seed()
        options = {
            "batch_size": batch_size,
            "shuffle": shuffle,
            "seed": seed,
            "epoch": epoch,
            "drop_last": drop_last,
            "prefetch": prefetch,
            "shuffle_window": shuffle_window,
            "shards": None if shards is None else [int(f) for f in shards],
            "length": length,
            "start": start,
            "balance": balance,
            "weights_digest": digest,
        }
        unsaved = {"transform": transform, "weights": weights}
        return EpochBatches(self._read_batches, options, unsaved)

    def _read_batches(
        self,
        batch_size: int,
        shuffle: bool,
        seed: int,
        epoch: int,
        drop_last: bool,
        prefetch: int,
        shuffle_window: int,
        shards: list[int] | None,
        length: int | None,
        start: int,
        balance: str | None,
        weights_digest: str | None,  # checked by batches()
        weights: Any,
        transform: Transform | None,
    ) -> Iterator[Batch]:
        order, ends = self._epoch(
            shuffle, seed, epoch, shuffle_window, shards, length, balance, weights
        )
        batches = window_batches(self, order, ends, batch_size, drop_last, start)
        if transform is not None:
            reader = 0 if not shards else 1 + min(shards)  # readers own disjoint shards
            batches = transformed(batches, transform, seed, epoch, start, reader)
        return prefetched(batches, prefetch) if prefetch else batches

    def epoch_order(
        self,
        shuffle: bool = True,
        seed: int | None = None,
        epoch: int = 0,
        shuffle_window: int = SHUFFLE_WINDOW,
        shards: list[int] | None = None,
        length: int | None = None,
        balance: str | None = None,
        weights: Any = None,
    ) -> np.ndarray:
        """The examples ``batches()`` reads for these arguments, in order (indices into
        the subset, with ``where``)."""
        return self._epoch(shuffle, seed, epoch, shuffle_window, shards, length, balance, weights)[
            0
        ]

    def _epoch(
        self,
        shuffle: bool,
        seed: int | None,
        epoch: int,
        shuffle_window: int,
        shards: list[int] | None,
        length: int | None = None,
        balance: str | None = None,
        weights: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        files = self._epoch_files(shuffle_window, shards)
        rng = np.random.default_rng(None if seed is None else [seed, epoch]) if shuffle else None
        if balance is not None or weights is not None:
            if rng is None:
                raise ValueError("balance and weights draw an epoch at random: keep shuffle")
            drawn = sampling_weights(self.labels, balance, weights, len(self))
            candidates = self._examples_of(files)
            count = len(candidates) if length is None else length
            return drawn_order(candidates, drawn, count, shuffle_window, rng)
        storage = self.config.storage
        run = run_length(get_format(storage.format).chunk_rows(storage))
        order, ends = epoch_order(self._starts, files, run, shuffle_window, rng, self._subset)
        return (order, ends) if length is None else fitted(order, ends, length)

    def _examples_of(self, files: Sequence[int]) -> np.ndarray:
        """The examples (indices into the subset, with ``where``) of data files ``files``."""
        if self._subset is None:
            bounds = [(self._starts[f], self._starts[f + 1]) for f in files]
        else:
            edges = np.searchsorted(self._subset, self._starts)
            bounds = [(edges[f], edges[f + 1]) for f in files]
        ranges = [np.arange(lo, hi, dtype=np.int64) for lo, hi in bounds]
        return np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)

    def _epoch_files(self, shuffle_window: int, shards: list[int] | None) -> Sequence[int]:
        """The data files an epoch reads, its arguments checked."""
        if shuffle_window < 1:
            raise ValueError(f"shuffle_window must be at least 1, not {shuffle_window}")
        files = range(len(self.files)) if shards is None else shards
        if not all(isinstance(f, int | np.integer) and 0 <= f < len(self.files) for f in files):
            raise IndexError(f"shards must be data file indices below {len(self.files)}")
        return files

    def __getstate__(self) -> dict[str, Any]:
        # the manifest table (tens of MB at a million examples) reloads where it is used
        return {**self.__dict__, "_manifest": None}

    def close(self) -> None:
        """Close any open files (they reopen on the next read)."""
        self._reader.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f", where={self.where!r}" if self.where else ""
        return (
            f"Dataset({str(self.path)!r}, examples={len(self)}, shape={self.shape}, "
            f"classes={len(self.classes)}, format={self.config.storage.format!r}{where})"
        )


def drawn_seed() -> int:
    """A random seed, for an order that must be the same again after a restart."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)


def open_dataset(
    path: str | Path,
    targets: str = "labels",
    normalize: bool | str = False,
    verify_checksums: bool = False,
    open_files: int | None = None,
    where: Where | None = None,
    statistics_where: Where | None = None,
) -> Dataset:
    """Open a complete dataset (one with dataset.json) for reading; ``targets="frames"``
    pairs each example with its frame targets instead of its label; ``normalize``
    standardises the features with the dataset's statistics; ``verify_checksums``
    checks HDF5 chunk checksums on every read; ``open_files`` bounds the data files
    kept open per process; ``where`` reads the subset of the examples with these
    manifest values, e.g. ``{"fold": [1, 2, 3]}``, normalised (with ``normalize``)
    by its own statistics or those of ``statistics_where`` (see Dataset)."""
    return Dataset(path, targets, normalize, verify_checksums, open_files, where, statistics_where)


def as_dataset(source: str | Path | Dataset, **options: Any) -> Dataset:
    """``source`` itself when it is an open Dataset, else ``open_dataset(source, **options)``
    (what the framework adapters accept)."""
    if isinstance(source, Dataset):
        if options:
            raise TypeError("pass reader options to open_dataset, not with a Dataset")
        return source
    return open_dataset(source, **options)
