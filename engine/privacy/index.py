"""Which instances hold data of which subject: a read model of the log, caught up on use.

The command path writes nothing for it. Before a retention decision the index reads the
log from its watermark on: an event whose stored state holds envelopes adds one row per
subject it seals (the envelope's ``kid``). Caught up by any process; a process that finds
the watermark moved under it retries from the new one.
"""

from __future__ import annotations

from engine.persistence.store import EngineApplication
from engine.privacy.envelope import MARK
from engine.privacy.keystore import KeyStore
from engine.privacy.reveal import subjects_in

__all__ = ["catch_up"]

_PAGE = 1000
_NEEDLE = MARK.encode()


def catch_up(app: EngineApplication, store: KeyStore, *, persist: bool) -> set[tuple[str, str]]:
    """Bring the subject index up to the end of the log; without ``persist`` (a read-only
    store) nothing is written and the (subject, instance) pairs past the watermark are
    returned instead."""
    opaque = app.mapper.cipher is not None or app.mapper.compressor is not None
    for _ in range(5):
        since = store.watermark()
        upto, pairs = since, set()
        while True:
            batch = list(
                app.recorder.select_notifications(upto or None, _PAGE, inclusive_of_start=False)
            )
            for n in batch:
                upto = n.id
                if not opaque and _NEEDLE not in n.state:
                    continue
                payload = getattr(app.mapper.to_domain_event(n), "payload", None)
                pairs |= {(kid, str(n.originator_id)) for kid in subjects_in(payload)}
            if len(batch) < _PAGE:
                break
        if not persist:
            return pairs
        if upto == since or store.add_refs(pairs, since=since, upto=upto):
            return set()
    return set()
