"""Authentication: REST callers (project JWT or partner key:secret) and client tokens."""
