"""``spectroprep build``: plan the shards, run their tasks, keep a journal, describe the result."""
