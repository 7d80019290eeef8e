"""Repositories: the only code that queries. They never commit; the caller does."""
