"""Labels of the input files: clip classes, per-window class ids, events, and the
arrays aligned with the examples."""
