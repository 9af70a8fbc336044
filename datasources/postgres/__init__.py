"""PostgreSQL: accounts, users, vehicles, routes and stops (SQLAlchemy 2 async)."""

from datasources.postgres.engine import Database, open_database

__all__ = ["Database", "open_database"]
