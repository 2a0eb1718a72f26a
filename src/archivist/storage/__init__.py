"""Where archive files live: the local data directory or S3-compatible object storage.

``base`` is the :class:`Storage` protocol both backends implement (``local``, ``s3``);
``signing`` makes and checks the signed, expiring download URLs; ``files`` hands each finished
recording to its project's storage and serves, uploads and removes it; ``file_states`` is the
state machine of a file in the storage; ``transfers`` runs the persisted uploads and removals in
the background (and reports their end to the archive service through ``files.FileSettlement``);
``retention`` expires old archives.
See docs/storage.md.
"""
