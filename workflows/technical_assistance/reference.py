"""Reference data: eligible countries, areas, activity and institution types.

The data lives in versioned JSON files under ``data/`` so that a new programme phase can
change it without touching code. Nothing is read at import time: :func:`reference_data`
reads the files on first use (through ``importlib.resources``, so it works from a wheel
or a zip) and caches the result for the life of the process.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "DATA_FILES",
    "ActivityType",
    "Area",
    "Coded",
    "Country",
    "ReferenceData",
    "reference_data",
]

PACKAGE = "workflows.technical_assistance"
DATA_FILES = (
    "countries.json",
    "eu_member_states.json",
    "areas.json",
    "activity_types.json",
    "institutions.json",
)
"""The reference-data files; every one carries the same ``version``."""

_T = TypeVar("_T", "Country", "Area", "ActivityType", "Coded")


@dataclass(frozen=True, slots=True)
class Country:
    """An eligible partner country (ISO 3166-1 alpha-2) and its region."""

    code: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class Area:
    """An area of the taxonomy: ``kind`` is ``thematic`` or ``cross_cutting``."""

    code: str
    label: str
    parent: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class ActivityType:
    """A kind of activity: ``kind`` is ``analytical`` or ``know_how_transfer``."""

    code: str
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Coded:
    """A coded value that may or may not be eligible (institution types and levels)."""

    code: str
    label: str
    eligible: bool


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Every reference table, keyed by code (read-only mappings)."""

    version: str
    countries: MappingProxyType[str, Country]
    eu_member_states: MappingProxyType[str, str]
    areas: MappingProxyType[str, Area]
    activity_types: MappingProxyType[str, ActivityType]
    institution_types: MappingProxyType[str, Coded]
    institution_levels: MappingProxyType[str, Coded]

    def is_thematic(self, area: str) -> bool:
        """True for a social protection, labour or employment area (not a marker)."""
        found = self.areas.get(area)
        return found is not None and found.kind == "thematic"


def _read(name: str) -> dict[str, Any]:
    text = resources.files(PACKAGE).joinpath("data", name).read_text(encoding="utf-8")
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
        msg = f"reference-data file {name} has no version"
        raise ValueError(msg)
    return doc


def _by_code(items: list[_T]) -> MappingProxyType[str, _T]:
    table = {item.code: item for item in items}
    if len(table) != len(items):
        msg = "duplicate codes in reference data"
        raise ValueError(msg)
    return MappingProxyType(table)


@functools.cache
def reference_data() -> ReferenceData:
    """The packaged reference data, read once on first use.

    Raises ``ValueError`` if the files disagree on their version or repeat a code.
    """
    docs = {name: _read(name) for name in DATA_FILES}
    versions = sorted({doc["version"] for doc in docs.values()})
    if len(versions) != 1:
        msg = f"reference-data files disagree on their version: {versions}"
        raise ValueError(msg)
    inst = docs["institutions.json"]
    return ReferenceData(
        version=versions[0],
        countries=_by_code([Country(**c) for c in docs["countries.json"]["countries"]]),
        eu_member_states=MappingProxyType(
            {m["code"]: m["name"] for m in docs["eu_member_states.json"]["member_states"]}
        ),
        areas=_by_code([Area(**a) for a in docs["areas.json"]["areas"]]),
        activity_types=_by_code(
            [ActivityType(**t) for t in docs["activity_types.json"]["activity_types"]]
        ),
        institution_types=_by_code([Coded(**t) for t in inst["types"]]),
        institution_levels=_by_code([Coded(**lv) for lv in inst["levels"]]),
    )
