"""Archivist: a self-hosted video session server that records sessions to MP4."""

__version__ = "0.1.0"
