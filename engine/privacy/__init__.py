"""Personal data: per-subject encryption at rest, erasure by key destruction, retention.

:func:`open_privacy` is called by the composition root; :class:`PrivacyService` is what
the façade delegates to. See ``docs/privacy.md``.
"""

from __future__ import annotations

from engine.commands.service import CommandService
from engine.persistence.sql import SqlStore
from engine.persistence.store import InlineSQLiteRecorder
from engine.persistence.urls import KEY_FILE, StoreConfig
from engine.privacy.kek import Kek, load_kek
from engine.privacy.keystore import KeyStore
from engine.privacy.reveal import ERASED_MARK, RESTRICTED_MARK
from engine.privacy.service import PrivacyService
from engine.privacy.status import SubjectStatus
from engine.privacy.vault import Vault

__all__ = [
    "ERASED_MARK",
    "RESTRICTED_MARK",
    "Kek",
    "PrivacyService",
    "SubjectStatus",
    "open_privacy",
]


def open_privacy(config: StoreConfig, sql: SqlStore, commands: CommandService) -> PrivacyService:
    """The privacy part of an engine: its tables, its KEK (``StorageUnavailable`` if it is
    missing or not the one the stored keys are wrapped with), hooked into the commands."""
    store = KeyStore(sql)
    if not config.read_only:
        store.setup()
    wrapped = bool(store.kek_ids())

    def kek() -> Kek:
        return load_kek(
            config.kind,
            key_file=config.env.get(KEY_FILE, ""),
            db_path=config.env.get("SOCIEUX_DB_PATH", ""),
            may_create=not wrapped and not config.read_only,
        )

    vault = Vault(kek, store, shared=config.kind != "memory")
    vault.check_kek()
    service = PrivacyService(vault, commands, sql, kind=config.kind, read_only=config.read_only)
    if service.in_use():
        service.register(record=False)
    commands.protect = service.protect
    commands.reveal = service.reveal_for_checks
    commands.seal = service.seal_values
    commands.present = service.present
    if _inline_capable(commands, config) and not config.read_only:
        pending = vault.fuse()  # new keys of an instance's own subjects: in its event's commit
        commands.inline = pending.wrap(commands.inline)
        commands.after_commit.append(pending.promote)
    return service


def _inline_capable(commands: CommandService, config: StoreConfig) -> bool:
    """Whether the store runs an inline hook inside the event's own transaction: SQLite's
    recorder, and PostgreSQL's with the insert function (``db_functions=on``, the default;
    eventsourcing's own pipelined insert takes no hook)."""
    recorder = commands.app.recorder
    if isinstance(recorder, InlineSQLiteRecorder):
        return True
    if config.kind != "postgresql":
        return False
    from engine.persistence.postgres import EngineRecorder  # psycopg: only for PostgreSQL

    return isinstance(recorder, EngineRecorder) and bool(recorder.datastore.enable_db_functions)
