"""Running tasks elsewhere: the executor interface and the local process pool."""
