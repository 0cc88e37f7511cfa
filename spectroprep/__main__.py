"""``python -m spectroprep``: the same as the ``spectroprep`` command."""

from .cli import main

main()
