"""The columns of manifest.csv that spectroprep fills itself: the dataset layer
writes them, and ingest refuses a metadata column of the same name."""

MANIFEST_COLUMNS = ("id", "path", "index", "label", "source", "start", "duration")
ORIGIN_ID = "origin_id"  # added by ``shard``: the example's id in the dataset first built
RESERVED = (*MANIFEST_COLUMNS, ORIGIN_ID)
