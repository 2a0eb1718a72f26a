"""Persisted sessions: OpenTok-format ids, media mode, archive mode."""
