"""Pictures of a dataset (an optional extra: ``pip install 'spectroprep[plot]'``):
``preview`` draws examples, ``overview`` a dataset's make-up."""
