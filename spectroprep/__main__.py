"""``python -m spectroprep``: the same as the ``spectroprep`` command."""

from .launch import main

main()
