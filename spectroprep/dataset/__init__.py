"""The on-disk contract: dataset.json, manifest.csv, statistics, one data file,
and the storage formats."""
