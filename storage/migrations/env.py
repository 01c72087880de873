"""Alembic environment. Run through storage.migrate, which hands us a live connection."""

import importlib
import pkgutil

from alembic import context
from sqlmodel import SQLModel

import storage

# Every module of storage/ may declare tables: import them all so metadata is complete.
for module in pkgutil.iter_modules(storage.__path__):
    if module.name != "migrations":
        importlib.import_module(f"storage.{module.name}")

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m bot migrate` (storage.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
