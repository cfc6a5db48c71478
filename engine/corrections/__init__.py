"""Corrections with four eyes, evidence by fingerprint and notes: the engine's amendments.

The events live in the instance's own hash-chained stream (:mod:`engine.instance.amendments`);
this package decides and records them (:mod:`.service`), folds a history with its corrections
(:mod:`.fold`), matches files against recorded evidence (:mod:`.evidence`), and offers the
façade's methods (:mod:`.api`). Every value a correction stores goes through one seam,
:func:`engine.corrections.seam.stored_value`.
"""
