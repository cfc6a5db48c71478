"""Audit: tamper-evident verification, seals, offline-verifiable exports, explanations.

The modules split along one line: ``chain``, ``checker`` and ``offline`` use nothing but
the standard library and :mod:`engine.hashing`, so an auditor can verify an export with
a copy of those files and no database. ``verify``, ``seals``, ``export``, ``explain`` and
``replay`` read the live store through the engine. This package imports nothing itself.
"""
