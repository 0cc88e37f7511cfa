"""``python -m spectroprep``: the same as the ``spectroprep`` command."""

from .cli.launch import main

main()
