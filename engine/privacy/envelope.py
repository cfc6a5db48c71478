"""Envelopes: one personal field encrypted with its subject's data key (AES-256-GCM).

An envelope is a JSON object stored in the event's payload where the plaintext was::

    {"$personal": 1, "alg": "AES-256-GCM", "kid": "expert:E-104", "kv": 1, "ev": 3,
     "path": "experts.0.name", "n": <nonce>, "ct": <ciphertext and tag>, "kc": <commitment>}

The associated data binds the instance id, the event version (``ev``), the field path and
the subject with its key version, so a ciphertext copied to another instance, event or
field does not open. AES-GCM is not key-committing: ``kc`` is HMAC-SHA256 of the nonce
under the data key, checked before decrypting, so a data key swapped between subjects is
detected rather than yielding garbage. The event hash covers the envelope, never the
plaintext: destroying the key leaves every hash intact.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from engine.errors import EnvelopeInvalid

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "ALG",
    "MARK",
    "DataKey",
    "aad_head",
    "aad_of",
    "is_envelope",
    "open_envelope",
    "seal_value",
]

MARK = "$personal"
"""The key that makes a JSON object an envelope (a payload model cannot name it)."""
ALG = "AES-256-GCM"
_COMMIT_LABEL = b"socieux key commitment v1"
_FIELDS = frozenset({MARK, "alg", "kid", "kv", "ev", "path", "n", "ct", "kc"})
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
"""HMAC's pads as translation tables: a key block XORed with them in one call."""


class DataKey:
    """A subject's data key with its AES-256-GCM cipher and the two halves of its
    commitment's HMAC-SHA256 (keyed, the inner one fed the label), built once per key."""

    __slots__ = ("_inner", "_outer", "aead", "raw")

    def __init__(self, raw: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # 8 MB: on first use

        self.raw = raw
        self.aead: AESGCM = AESGCM(raw)
        block = raw.ljust(64, b"\0")  # an AES key (at most 32 bytes) is its own HMAC block
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._inner.update(_COMMIT_LABEL)
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def commitment(self, nonce: bytes) -> bytes:
        """HMAC-SHA256 of the label and ``nonce`` under this key (RFC 2104, from the
        halves computed once: ``hmac.digest`` would key both again on every call)."""
        inner = self._inner.copy()
        inner.update(nonce)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def b64(data: bytes) -> str:
    """Unpadded URL-safe base64."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of :func:`b64`'s text (``ValueError`` if it is not base64)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_envelope(value: object) -> bool:
    """Whether ``value`` is a stored envelope."""
    return isinstance(value, dict) and value.get(MARK) == 1


def aad_of(instance_id: str, event_version: int, path: str, subject: str, kv: int) -> bytes:
    """The associated data of one field's envelope: the JSON array
    ``["socieux-personal-1", instance_id, event_version, path, subject, kv]`` (ASCII, no
    spaces), built without a JSON encoder per call."""
    return _aad(aad_head(instance_id, event_version), path, subject, kv)


def aad_head(instance_id: str, event_version: int) -> str:
    """The start of :func:`aad_of` that every field of one event shares."""
    return f'["socieux-personal-1",{encode_basestring_ascii(instance_id)},{int(event_version)},'


def _aad(head: str, path: str, subject: str, kv: int) -> bytes:
    esc = encode_basestring_ascii
    return f"{head}{esc(path)},{esc(subject)},{int(kv)}]".encode()


def _commitment(key: bytes, nonce: bytes) -> bytes:
    """What :meth:`DataKey.commitment` computes, from the raw key (the reference)."""
    return hmac.digest(key, _COMMIT_LABEL + nonce, hashlib.sha256)


def seal_value(
    value: str, key: DataKey, kv: int, *, instance_id: str, event_version: int, path: str,
    subject: str, head: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The envelope of ``value`` for ``subject`` at ``path`` of event ``event_version``
    (``head``: :func:`aad_head` of the instance and event, when sealing several fields)."""
    nonce = os.urandom(12)
    aad = _aad(head or aad_head(instance_id, event_version), path, subject, kv)
    ct = key.aead.encrypt(nonce, value.encode("utf-8"), aad)
    both = b64(nonce + key.commitment(nonce))  # 12 bytes are whole base64 groups: the
    return {  # nonce's text is the first 16 characters, the commitment's the rest
        MARK: 1,
        "alg": ALG,
        "kid": subject,
        "kv": kv,
        "ev": event_version,
        "path": path,
        "n": both[:16],
        "ct": b64(ct),
        "kc": both[16:],
    }


def open_envelope(envelope: dict[str, Any], key: DataKey, *, instance_id: str) -> str:
    """The plaintext of ``envelope`` (``EnvelopeInvalid`` if it does not open here)."""
    from cryptography.exceptions import InvalidTag

    path, subject = str(envelope.get("path")), str(envelope.get("kid"))
    try:
        if set(envelope) != _FIELDS or envelope["alg"] != ALG:
            msg = "not an envelope of this format"
            raise ValueError(msg)
        nonce, ct, kc = unb64(envelope["n"]), unb64(envelope["ct"]), unb64(envelope["kc"])
        if not hmac.compare_digest(kc, key.commitment(nonce)):
            raise EnvelopeInvalid(
                f"the envelope at {path} is not committed to {subject}'s data key "
                "(a swapped or wrong key)",
                path=path,
                subject=subject,
            )
        aad = aad_of(instance_id, int(envelope["ev"]), path, subject, int(envelope["kv"]))
        return key.aead.decrypt(nonce, ct, aad).decode("utf-8")
    except InvalidTag:
        raise EnvelopeInvalid(
            f"the envelope at {path} does not open here (moved to another instance, event "
            "or field, or altered)",
            path=path,
            subject=subject,
        ) from None
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise EnvelopeInvalid(f"the envelope at {path} is malformed", path=path) from None
