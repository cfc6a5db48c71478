"""Persistence: database URLs, the eventsourcing application and recorders, group commit
(:mod:`engine.persistence.group`), one SQL adapter for SQLite and PostgreSQL (read models,
seals, hooks), schema creation and error translation.

Imports :mod:`engine.errors` and :mod:`engine.instance` (the aggregate's snapshot class);
never definition, commands, projection, hooks, audit or cli.
"""
