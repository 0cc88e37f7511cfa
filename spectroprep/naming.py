"""Natural (human) sort order, used for sources, manifests and data files."""

from collections.abc import Iterable

from natsort import natsort_keygen, ns

# Path-aware: "clip2" < "clip10", and "a/b" sorts by its components.
natural_key = natsort_keygen(alg=ns.PATH)


def natural_sorted(items: Iterable[str]) -> list[str]:
    """Return ``items`` in natural order."""
    return sorted(items, key=natural_key)
