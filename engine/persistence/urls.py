"""Database URLs: which backend, its eventsourcing settings, and a label safe to print.

| URL                        | backend                          |
|----------------------------|----------------------------------|
| ``sqlite:///path/to.db``   | eventsourcing SQLite, WAL        |
| ``memory://``              | eventsourcing POPO (in process)  |
| ``postgresql://u:p@h/db``  | eventsourcing PostgreSQL         |

SQLite runs with ``synchronous=FULL`` unless the URL says ``?synchronous=normal``
(faster; a power cut may lose the last commits, never corrupt the file).
PostgreSQL connection settings are built here, once (:func:`postgres_connect_kwargs`);
PostgreSQL URLs also take ``db_functions=on|off`` (the insert function, default on),
``notify=on|off`` (LISTEN/NOTIFY wake-ups, default on) and ``fallback_poll=SECONDS``
(default 5; see :mod:`engine.persistence.notify`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, parse_qs, quote, unquote, urlsplit

from engine.errors import StorageUnavailable

__all__ = [
    "DEFAULT_URL",
    "LIBPQ_PARAMETERS",
    "BackendKind",
    "StoreConfig",
    "libpq_parameters",
    "parse_url",
    "postgres_connect_kwargs",
]

DEFAULT_URL = "sqlite:///socieux.db"
_SYNC_LEVELS = {"full": "FULL", "normal": "NORMAL", "extra": "EXTRA", "off": "OFF"}


BackendKind = Literal["memory", "sqlite", "postgresql"]
KEY_FILE = "SOCIEUX_URL_KEY_FILE"
"""The env entry holding the URL's ``?key_file=`` (the key-encryption key's file)."""


@dataclass(frozen=True)
class StoreConfig:
    """A parsed database URL: the backend ``kind``, eventsourcing settings, a safe label,
    and whether the store is opened read-only (``sqlite:///x.db?mode=ro``)."""

    kind: BackendKind
    env: dict[str, str] = field(default_factory=dict)
    label: str = ""
    read_only: bool = False


def _bad(url: str, why: str) -> StorageUnavailable:
    return StorageUnavailable(f"invalid database URL {url!r}: {why}", url=url)


def parse_url(url: str) -> StoreConfig:
    """Parse a database URL into a :class:`StoreConfig`, or raise ``StorageUnavailable``."""
    if not isinstance(url, str) or "\x00" in url or not url.isprintable():
        raise StorageUnavailable("invalid database URL: it must be printable text", url=repr(url))
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "memory":
        return StoreConfig("memory", {"PERSISTENCE_MODULE": "eventsourcing.popo"}, "memory://")
    if parts.scheme == "sqlite":
        return _sqlite_config(url, parts.path, query)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres_config(url, parts, query)
    raise _bad(url, "expected sqlite:///PATH, memory:// or postgresql://USER@HOST/DB")


def _sqlite_config(url: str, raw_path: str, query: dict[str, str]) -> StoreConfig:
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    if not path:
        raise _bad(url, "no file path (use sqlite:///relative.db or sqlite:////abs/path.db)")
    unknown = sorted(set(query) - {"synchronous", "mode", "lock_timeout", "key_file"})
    if unknown:
        raise _bad(
            url,
            f"unknown parameter(s) {', '.join(unknown)} (synchronous, mode, lock_timeout, "
            "key_file)",
        )
    sync = query.get("synchronous", "full").lower()
    if sync not in _SYNC_LEVELS:
        raise _bad(url, f"synchronous must be one of {', '.join(_SYNC_LEVELS)}")
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise _bad(url, f"directory {parent} does not exist")
    mode = query.get("mode", "rwc")
    if mode not in ("ro", "rw", "rwc"):
        raise _bad(url, "mode must be ro, rw or rwc")
    file_path = Path(path).expanduser()
    if mode != "rwc" and not file_path.is_file():
        raise _bad(url, f"file {file_path} does not exist (mode={mode})")
    lock_timeout = query.get("lock_timeout", "10")
    if not lock_timeout.isdigit():
        raise _bad(url, "lock_timeout must be a whole number of seconds")
    dbname = str(file_path) if mode == "rwc" else _uri(url, file_path, mode)
    env = {
        "PERSISTENCE_MODULE": "engine.persistence.store:DurableSQLiteFactory",
        "SQLITE_DBNAME": dbname,
        "CREATE_TABLE": "n" if mode == "ro" else "y",
        "SQLITE_LOCK_TIMEOUT": lock_timeout,
        "SOCIEUX_SQLITE_SYNCHRONOUS": _SYNC_LEVELS[sync],
        "APPLICATION_RECORDER_TOPIC": "engine.persistence.store:InlineSQLiteRecorder",
        KEY_FILE: query.get("key_file", ""),
        "SOCIEUX_DB_PATH": str(file_path),
    }
    return StoreConfig("sqlite", env, f"sqlite:///{path}", read_only=mode == "ro")


LIBPQ_PARAMETERS = frozenset(
    {
        "application_name", "channel_binding", "client_encoding", "connect_timeout",
        "fallback_application_name", "gssencmode", "gssdelegation", "gsslib", "hostaddr",
        "keepalives", "keepalives_count", "keepalives_idle", "keepalives_interval",
        "krbsrvname", "load_balance_hosts", "options", "passfile", "requirepeer",
        "service", "ssl_max_protocol_version", "ssl_min_protocol_version", "sslcert",
        "sslcertmode", "sslcompression", "sslcrl", "sslcrldir", "sslkey", "sslmode",
        "sslpassword", "sslrootcert", "sslsni", "target_session_attrs", "tcp_user_timeout",
    }
)  # fmt: skip
"""libpq connection parameters a PostgreSQL URL may carry: passed through to every
connection (events, read models, schema creation)."""
_PG_OWN = frozenset({"schema", "pool_size", "key_file", "db_functions", "notify", "fallback_poll"})
_ON_OFF = {"on": "y", "off": "n"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _uri(url: str, file_path: Path, mode: str) -> str:
    """A SQLite URI for ``mode`` ``ro`` or ``rw``.

    Read-only on read-only media (a DVD, a ``chattr +i`` folder, a read-only mount): a
    database in WAL mode needs its ``-shm`` file, which SQLite cannot create there. With no
    ``-shm`` and no (or an empty) ``-wal``, nobody has the file open and the log holds
    nothing, so it is opened ``immutable``; with a ``-wal`` but no ``-shm``, the committed
    tail cannot be read safely and the URL is refused with what to do.
    """
    uri = f"file:{quote(str(file_path))}?mode={mode}"
    if mode != "ro" or file_path.with_name(file_path.name + "-shm").exists():
        return uri
    if _writable(file_path.parent):
        return uri
    wal = file_path.with_name(file_path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise _bad(
            url,
            f"{wal} holds commits but there is no -shm file and the folder is read-only: "
            "copy the three files to a writable folder, or checkpoint the database first",
        )
    return uri + "&immutable=1"


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _postgres_config(url: str, parts: SplitResult, query: dict[str, str]) -> StoreConfig:
    dbname = unquote(parts.path.lstrip("/"))
    hosts = _hosts(url, parts.netloc.rpartition("@")[2])
    if not dbname or not hosts:
        raise _bad(url, "expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME")
    host, port = ",".join(h for h, _ in hosts), ",".join(p for _, p in hosts)
    unknown = sorted(set(query) - LIBPQ_PARAMETERS - _PG_OWN)
    if unknown:
        raise _bad(
            url,
            f"unknown parameter(s) {', '.join(unknown)} (libpq's, schema, pool_size, "
            "db_functions, notify, fallback_poll)",
        )
    schema = query.get("schema", "")
    if schema and not _IDENTIFIER.fullmatch(schema):
        raise _bad(url, "schema must be an identifier: letters, digits and _, not first a digit")
    if not query.get("pool_size", "5").isdigit() or not query.get("connect_timeout", "5").isdigit():
        raise _bad(url, "pool_size and connect_timeout must be whole numbers")
    libpq = {k: v for k, v in query.items() if k in LIBPQ_PARAMETERS - {"connect_timeout"}}
    switches = {k: query.get(k, "on").lower() for k in ("db_functions", "notify")}
    if any(v not in _ON_OFF for v in switches.values()):
        raise _bad(url, "db_functions and notify must be on or off")
    fallback = _fallback_poll(url, query.get("fallback_poll", "5"))
    env = {
        "PERSISTENCE_MODULE": "engine.persistence.postgres:Factory",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": port,
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "5"),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": query.get("pool_size", "5"),
        KEY_FILE: query.get("key_file", ""),
        "SOCIEUX_LIBPQ": json.dumps(libpq, sort_keys=True),
        "POSTGRES_ENABLE_DB_FUNCTIONS": _ON_OFF[switches["db_functions"]],
        "SOCIEUX_PG_NOTIFY": _ON_OFF[switches["notify"]],
        "SOCIEUX_PG_FALLBACK_POLL": fallback,
    }
    if len(hosts) > 1:  # failover: a pooled connection to a lost primary is replaced
        env["POSTGRES_PRE_PING"] = "y"
    where = ",".join(f"{h}:{p}" for h, p in hosts)
    label = f"postgresql://{env['POSTGRES_USER']}@{where}/{dbname}"
    return StoreConfig("postgresql", env, label + (f"?schema={schema}" if schema else ""))


def _fallback_poll(url: str, value: str) -> str:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0.01 <= seconds <= 3600:
        raise _bad(url, "fallback_poll must be a number of seconds from 0.01 to 3600")
    return repr(seconds)


def _hosts(url: str, spec: str) -> list[tuple[str, str]]:
    """``HOST[:PORT]`` or libpq's multi-host ``HOST1[:PORT1],HOST2[:PORT2]`` (failover)."""
    found: list[tuple[str, str]] = []
    for item in spec.split(",") if spec else ():
        host, _, port = item.rpartition(":") if not item.endswith("]") else (item, "", "")
        host, port = (host, port) if host else (item, "")
        host = unquote(host.strip("[]")).lower()
        if not host:
            raise _bad(url, "a host is empty")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise _bad(url, "the port is not a number")
        found.append((host, port or "5432"))
    return found


def postgres_connect_kwargs(env: dict[str, str]) -> dict[str, str | int]:
    """``psycopg.connect`` keyword arguments for the database a PostgreSQL URL names."""
    return {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
        "connect_timeout": int(env["POSTGRES_CONNECT_TIMEOUT"]),
        **libpq_parameters(env),
    }


def libpq_parameters(env: dict[str, str]) -> dict[str, str]:
    """The URL's extra libpq parameters (``sslmode``, ``application_name``, ...)."""
    return dict(json.loads(env.get("SOCIEUX_LIBPQ") or "{}"))
