"""Persistence: SQLAlchemy Core on SQLite (default) or PostgreSQL, versioned migrations."""
