"""Audit: tamper-evident verification, seals, offline-verifiable exports, explanations.

The modules split along one line: ``offline/`` (hash chains, the streaming checker, the
workflow rule checks, seal records and the export reader) uses nothing but the standard
library, so an auditor can verify an export with a copy of that folder and no database.
``verify``, ``seals``, ``export``, ``explain`` and ``replay`` read the live store through
an :class:`~engine.audit.source.AuditSource`; ``verify`` runs the same rule checks as the
offline verifier, over the installed definitions (and those recorded in the store).

Imports errors, logs, instance, definition, persistence, commands and queries; never the
``Engine``, projection, hooks or cli. This package's ``__init__`` imports nothing itself.
"""
