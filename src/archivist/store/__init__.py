"""Persistence: SQLAlchemy Core on SQLite (default) or PostgreSQL, versioned migrations. The
repositories implement the protocols the domain packages define (``archives/ports.py``,
``sessions/service.py``); the domain imports nothing from here."""
