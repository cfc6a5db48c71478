"""The key-encryption key (KEK): where it comes from, and wrapping data keys with it.

In order: the URL's ``?key_file=``, ``$SOCIEUX_KEY_FILE``, ``$SOCIEUX_KEK`` (base64 of 32
bytes). With none of them: ``memory://`` uses an ephemeral key; a SQLite file uses (and,
the first time, creates with mode 0600) ``<database>.key`` beside it, with a warning that
this is not for production; PostgreSQL needs one configured. A data key is wrapped with
AES-256-GCM whose associated data names the subject and key version, so a wrapped key
copied to another subject's row does not unwrap.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import EnvelopeInvalid, StorageUnavailable
from engine.logs import get_logger
from engine.privacy.envelope import b64, unb64

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "Kek", "load_kek", "read_key_file"]

KEY_FILE_ENV = "SOCIEUX_KEY_FILE"
KEY_ENV = "SOCIEUX_KEK"
_log = get_logger("socieux.privacy")


@dataclass(frozen=True)
class Kek:
    """A key-encryption key; ``id`` is a fingerprint (not the key) stored with each
    wrapped data key, so a wrong KEK is noticed when the store opens."""

    key: bytes
    source: str

    @cached_property
    def id(self) -> str:
        """The first 16 hex digits of SHA-256 over a label and the key."""
        return hashlib.sha256(b"socieux kek id\x00" + self.key).hexdigest()[:16]

    @cached_property
    def _aead(self) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # 8 MB: on first use

        return AESGCM(self.key)

    def wrap(self, data_key: bytes, subject: str, version: int) -> str:
        """``data_key`` wrapped for ``subject`` at ``version``."""
        nonce = os.urandom(12)
        return b64(nonce + self._aead.encrypt(nonce, data_key, _wrap_aad(subject, version)))

    def unwrap(self, wrapped: str, subject: str, version: int) -> bytes:
        """The data key (``EnvelopeInvalid`` if the row was moved or altered)."""
        from cryptography.exceptions import InvalidTag

        raw = unb64(wrapped)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], _wrap_aad(subject, version))
        except (InvalidTag, ValueError):
            raise EnvelopeInvalid(
                f"the data key of {subject} (version {version}) does not unwrap: it belongs "
                "to another subject or was altered",
                subject=subject,
            ) from None


def _wrap_aad(subject: str, version: int) -> bytes:
    return f"socieux-data-key-1\x00{subject}\x00{version}".encode()


def read_key_file(path: Path) -> bytes:
    """The 32-byte key in ``path`` (hex or base64 text, or raw bytes)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"the key file {path} cannot be read ({exc.strerror or type(exc).__name__})"
        raise StorageUnavailable(msg) from None
    return _key_bytes(raw, f"the key file {path}")


def _key_bytes(raw: bytes, what: str) -> bytes:
    text = raw.strip()
    if len(raw) == 32:
        return raw
    for decode in (bytes.fromhex, unb64):
        try:
            key = decode(text.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            continue
        if len(key) == 32:
            return key
    raise StorageUnavailable(f"{what} does not hold a 256-bit key (64 hex digits or base64)")


def load_kek(kind: str, *, key_file: str, db_path: str, may_create: bool) -> Kek:
    """The KEK for a store of ``kind`` (``memory``, ``sqlite``, ``postgresql``).

    ``may_create``: the store holds no wrapped key yet, so a development key file may be
    created for a SQLite database.
    """
    chosen = key_file or os.environ.get(KEY_FILE_ENV, "")
    if chosen:
        return Kek(read_key_file(Path(chosen)), f"key file {chosen}")
    env = os.environ.get(KEY_ENV, "")
    if env:
        return Kek(_key_bytes(env.encode(), f"${KEY_ENV}"), f"${KEY_ENV}")
    if kind == "memory":
        return Kek(os.urandom(32), "ephemeral (memory://)")
    if kind == "sqlite" and db_path:
        return _beside(Path(db_path), may_create=may_create)
    msg = (
        f"no key-encryption key: set {KEY_FILE_ENV} (a file holding 32 bytes as 64 hex "
        f"digits), {KEY_ENV}, or ?key_file= in the URL"
    )
    raise StorageUnavailable(msg)


def _beside(db: Path, *, may_create: bool) -> Kek:
    path = db.with_name(db.name + ".key")
    if path.exists():
        return Kek(read_key_file(path), f"key file {path}")
    if not may_create:
        msg = (
            f"the key-encryption key is missing: {path} does not exist and no "
            f"{KEY_FILE_ENV} is set, but this store holds wrapped data keys"
        )
        raise StorageUnavailable(msg)
    key = os.urandom(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key.hex() + "\n")
    except FileExistsError:  # another process created it first: use theirs
        return Kek(read_key_file(path), f"key file {path}")
    except OSError as exc:
        msg = f"cannot create the key file {path} ({exc.strerror or type(exc).__name__})"
        raise StorageUnavailable(msg) from None
    _log.warning(
        "development_key_file_created",
        path=str(path),
        note="not for production: set SOCIEUX_KEY_FILE to a key kept apart from the database",
    )
    return Kek(key, f"key file {path}")
