"""Seal records and their digests: what a seal states, and the hash a signature signs."""

from __future__ import annotations

from dataclasses import dataclass

from .canonical import hash_fields

__all__ = ["SEAL_SCHEMA", "Head", "SealRecord", "heads_digest", "seal_digest"]

SEAL_SCHEMA = "socieux.seal/1"
Head = tuple[str, int, str]
"""``(instance_id, version, hash)``: an instance's last event at a seal."""


def heads_digest(heads: list[Head]) -> str:
    """sha256 of the canonical JSON of ``{"heads": [[id, version, hash], ...]}``."""
    return hash_fields({"heads": [list(h) for h in heads]})


def seal_digest(
    *,
    seq: int,
    position: int,
    events: int,
    running_hash: str,
    sealed_at: str,
    heads_hash: str,
    previous: str,
    public_key: str | None,
) -> str:
    """The seal's own hash: what a signature signs (as ASCII hex)."""
    return hash_fields(
        {
            "schema": SEAL_SCHEMA,
            "seq": seq,
            "position": position,
            "events": events,
            "running_hash": running_hash,
            "sealed_at": sealed_at,
            "heads_hash": heads_hash,
            "previous": previous,
            "public_key": public_key,
        }
    )


@dataclass(frozen=True, slots=True)
class SealRecord:
    """A seal as stored or exported (times as UTC ISO strings, keys and signatures hex)."""

    seq: int
    position: int
    events: int
    running_hash: str
    sealed_at: str
    heads_count: int
    heads_hash: str
    previous: str
    seal_hash: str
    public_key: str | None = None
    signature: str | None = None
    line: int | None = None

    def expected_hash(self) -> str:
        """The seal hash recomputed from its fields."""
        return seal_digest(
            seq=self.seq,
            position=self.position,
            events=self.events,
            running_hash=self.running_hash,
            sealed_at=self.sealed_at,
            heads_hash=self.heads_hash,
            previous=self.previous,
            public_key=self.public_key,
        )
