"""Corrections with four eyes, evidence by fingerprint and notes: the engine's amendments.

The events live in the instance's own hash-chained stream (:mod:`engine.instance.amendments`);
this package decides and records them (:mod:`.service`), folds a history with its corrections
(:mod:`.fold`), matches files against recorded evidence (:mod:`.evidence`), and offers the
façade's methods (:mod:`.api`). Every value a correction reads or stores passes the
personal-data layer through :mod:`.seam` (envelopes opened to decide, new values sealed).
"""
