"""The ``spectroprep`` command: one module per command, the only user of click."""
