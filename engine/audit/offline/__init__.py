"""The offline verifier an auditor copies: hash chains, the streaming checker, the
workflow rules (replayed against the definitions an export carries), seal signatures and
the export reader.

Visibly separate from the rest of the engine: these modules import only the standard
library and each other (``cryptography`` only when a public key is given). Run it with
``python -m engine.audit.offline export.jsonl [--public-key seal-key.pub]``.
"""

from .verifier import (
    EXPORT_SCHEMA,
    ExportFormatError,
    OfflineReport,
    verify_file,
)

__all__ = ["EXPORT_SCHEMA", "ExportFormatError", "OfflineReport", "verify_file"]
