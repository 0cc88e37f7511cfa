"""Ingest: the input audio, its headers, labels and metadata, read and checked
before anything is written."""
