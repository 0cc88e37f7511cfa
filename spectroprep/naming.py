"""Natural (human) sort order, used for sources, classes, manifests and data files."""

from collections.abc import Iterable
from typing import Any

from natsort import natsort_keygen, ns

# Path-aware: "clip2" < "clip10", and "a/b" sorts by its components.
_natural = natsort_keygen(alg=ns.PATH)


def natural_key(name: str) -> tuple[Any, str]:
    """Sort key: natural order, ties ("a1" vs "a01") broken by the plain string,
    so the order never depends on the order the names came in."""
    return _natural(name), name


def natural_sorted(items: Iterable[str]) -> list[str]:
    """Return ``items`` in natural order."""
    return sorted(items, key=natural_key)
