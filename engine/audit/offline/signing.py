"""Ed25519 keys for seals (``cryptography``, imported only when a key is used).

Private keys are unencrypted PKCS#8 PEM files (``openssl genpkey -algorithm ed25519`` or
``socieux audit keygen``); public keys are SubjectPublicKeyInfo PEM files or the 64 hex
characters of the raw key, as ``socieux audit seals`` prints it. Problems with a key file
raise ``ValueError`` with a message fit for a user.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checker import SealRecord, SignatureCheck

__all__ = [
    "SigningKey",
    "generate_key",
    "load_public_key",
    "load_signing_key",
    "message_check",
    "signature_check",
]


MAX_KEY_FILE = 64 * 1024


def _read(path: str | os.PathLike[str]) -> bytes:
    """A key file's bytes: a regular file of at most 64 KiB (never /dev/zero)."""
    try:
        with Path(path).open("rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                msg = f"key file {path} is not a regular file"
                raise ValueError(msg)
            data = fh.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        msg = f"cannot read key file {path}: {exc.strerror}"
        raise ValueError(msg) from None
    if len(data) > MAX_KEY_FILE:
        msg = f"key file {path} is larger than {MAX_KEY_FILE} bytes"
        raise ValueError(msg)
    return data


def _raw_public(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return bytes(raw).hex()


@dataclass(frozen=True)
class SigningKey:
    """A loaded Ed25519 private key and its public key (hex)."""

    key: Any
    public_hex: str

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature of ``message``."""
        return bytes(self.key.sign(message))


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load an unencrypted Ed25519 private key (PKCS#8 PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        msg = f"{path} is not an unencrypted PEM private key ({exc})"
        raise ValueError(msg) from None
    if not isinstance(key, Ed25519PrivateKey):
        msg = f"{path} is not an Ed25519 key"
        raise ValueError(msg)
    return SigningKey(key, _raw_public(key.public_key()))


def load_public_key(source: str | os.PathLike[str] | bytes) -> Any:
    """An Ed25519 public key from a PEM file, a file of 64 hex characters, or raw bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = source if isinstance(source, bytes) else _read(source)
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    text = data.strip()
    try:
        if text.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(text)
        else:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.decode("ascii")))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        msg = f"not an Ed25519 public key (PEM or 64 hex characters): {exc}"
        raise ValueError(msg) from None
    if not isinstance(key, Ed25519PublicKey):
        msg = "the public key is not an Ed25519 key"
        raise ValueError(msg)
    return key


def signature_check(public_key: Any) -> SignatureCheck:
    """A checker callback: ``None`` when a seal's signature verifies with ``public_key``."""
    from cryptography.exceptions import InvalidSignature

    expected = _raw_public(public_key)

    def check(seal: SealRecord) -> str | None:
        if seal.public_key and seal.public_key != expected:
            return f"signed with another key ({seal.public_key[:16]}...), not the given one"
        try:
            public_key.verify(bytes.fromhex(seal.signature or ""), seal.seal_hash.encode())
        except (InvalidSignature, ValueError):
            return "its signature does not verify with the given public key"
        return None

    return check


def generate_key(path: str | os.PathLike[str]) -> str:
    """Write a new private key to ``path`` (mode 0600) and its public key to ``path.pub``.

    Returns the public key as hex. Refuses to overwrite an existing file.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    target = Path(path)
    public = Path(f"{target}.pub")
    for p in (target, public):
        if p.exists():
            msg = f"{p} already exists"
            raise ValueError(msg)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem)
        public.write_bytes(public_pem)
    except OSError as exc:
        msg = f"cannot write key file: {exc.strerror}"
        raise ValueError(msg) from None
    return _raw_public(key.public_key())


def message_check(public_key: Any) -> Callable[[bytes, str | None, str | None], str | None]:
    """A check of a signed message (a tree head's): ``check(message, signature_hex,
    signer_hex)`` is ``None`` when the signature verifies with ``public_key``, else why."""
    from cryptography.exceptions import InvalidSignature

    expected = _raw_public(public_key)

    def check(message: bytes, signature: str | None, signer: str | None) -> str | None:
        if not signature:
            return "is not signed, but a public key was given"
        if signer and signer != expected:
            return f"signed with another key ({signer[:16]}...), not the given one"
        try:
            public_key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return "its signature does not verify with the given public key"
        return None

    return check
