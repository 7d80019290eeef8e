"""Persistence: SQLAlchemy models, repositories (the only code that queries), migrations."""
