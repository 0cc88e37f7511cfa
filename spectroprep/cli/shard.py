"""``spectroprep shard``: re-shard, convert, shuffle or split a dataset."""

from __future__ import annotations

from pathlib import Path

import click

from ..plugins import FORMATS
from ..read.reader import open_dataset
from ..reshard import shard
from ..reshard.split import shares_line
from .common import RegistryChoice


@click.command("shard")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="New dataset folder (must be empty unless --overwrite); with --split, one "
    "dataset per split in it.",
)
@click.option("--format", "fmt", type=RegistryChoice(FORMATS), help="Storage format [as SRC].")
@click.option(
    "--shard-size",
    metavar="N|SIZE",
    help="Most examples per HDF5 shard, or bytes (256MB, 1GiB); shards come out equal.",
)
@click.option(
    "--block-size", metavar="N|SIZE", help="Most examples per npy block, or bytes; blocks equal."
)
@click.option(
    "--chunk-size", type=click.IntRange(min=1), metavar="N", help="Examples per HDF5 chunk."
)
@click.option("--compression", help="none | lzf | gzip[:N] | blosc2-lz4 | blosc2-zstd[:N].")
@click.option("--dtype", type=click.Choice(["float32", "float16"]), help="Feature dtype.")
@click.option("--shuffle", is_flag=True, help="Order the examples by a random permutation.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of --shuffle and --split."
)
@click.option(
    "--split", metavar="NAME=RATIO,...", help="Split by groups, e.g. train=0.8,val=0.1,test=0.1."
)
@click.option(
    "--group-by",
    default="source",
    show_default=True,
    metavar="source|COLUMN",
    help="Keep each group in one split: the source file, or a metadata column.",
)
@click.option("--stratify", is_flag=True, help="Keep each class's shares near the ratios.")
@click.option(
    "--split-column", metavar="COLUMN", help="Split by the values of a manifest column (folds)."
)
@click.option(
    "--split-map",
    metavar="MAP",
    help="Merge --split-column values into splits: 'train=1,2,3;val=4;test=5[;rest=NAME]'.",
)
@click.option(
    "--train-split",
    default="train",
    show_default=True,
    metavar="NAME",
    help="The split whose normalisation statistics every split records.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [all cores].")
@click.option("--overwrite", is_flag=True, help="Replace what is in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def shard_command(
    src: Path,
    out: Path,
    fmt: str | None,
    shard_size: str | None,
    block_size: str | None,
    chunk_size: int | None,
    compression: str | None,
    dtype: str | None,
    shuffle: bool,
    seed: int,
    split: str | None,
    group_by: str,
    stratify: bool,
    split_column: str | None,
    split_map: str | None,
    train_split: str,
    jobs: int | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Re-shard, convert, shuffle or split the dataset SRC into a new dataset."""
    done = shard(
        src,
        out,
        format=fmt,
        shard_size=shard_size,
        block_size=block_size,
        chunk_size=chunk_size,
        compression=compression,
        dtype=dtype,
        shuffle=shuffle,
        seed=seed,
        split=split,
        group_by=group_by,
        stratify=stratify,
        split_column=split_column,
        split_map=split_map,
        train_split=train_split,
        jobs=jobs,
        overwrite=overwrite,
        progress=not quiet,
        command=click.get_current_context().meta["argv"],
    )
    for name, folder in done.datasets.items():
        if done.shares is None:
            click.echo(f"wrote {len(open_dataset(folder))} examples to {folder}", err=quiet)
        else:
            ratio = done.ratios.get(name) if done.ratios else None
            click.echo(f"{shares_line(name, done.shares[name], ratio)} -> {folder}", err=quiet)
    if done.shares is not None and done.statistics_from is None:
        click.echo(
            "warning: no split is called "
            f"{train_split!r}: each split records its own statistics (--train-split NAME)",
            err=True,
        )
