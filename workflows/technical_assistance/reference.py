"""Reference data: eligible countries, areas, activity and institution types.

The data lives in versioned JSON files so that a new programme phase can change it
without touching code: version 2024.1 (read by version 1 of the workflow) under ``data/``,
version 2025.1 (the fourth phase, read by version 2) under ``data/2025.1/``, which also
registers partner institutions under stable ids. Nothing is read at import time:
:func:`reference_data` reads one version's files on first use (through
``importlib.resources``, so it works from a wheel or a zip) and caches the result for the
life of the process.
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
    "DEFAULT_VERSION",
    "INSTALLED_VERSIONS",
    "ActivityType",
    "Area",
    "Coded",
    "Country",
    "ReferenceData",
    "RegisteredInstitution",
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

_FOLDERS: dict[str, tuple[str, ...]] = {"2024.1": ("data",), "2025.1": ("data", "2025.1")}
INSTALLED_VERSIONS: tuple[str, ...] = tuple(_FOLDERS)
"""The reference-data versions this package ships, oldest first."""
DEFAULT_VERSION = "2024.1"
"""What :func:`reference_data` reads without a version (the one version 1 names)."""

_T = TypeVar("_T", "Country", "Area", "ActivityType", "Coded", "RegisteredInstitution")


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
class RegisteredInstitution:
    """A partner institution registered with the facility under a stable ``id``."""

    id: str
    name: str
    acronym: str
    country: str


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
    institutions: MappingProxyType[str, RegisteredInstitution]
    """Registered partner institutions by id (none before 2025.1)."""

    def is_thematic(self, area: str) -> bool:
        """True for a social protection, labour or employment area (not a marker)."""
        found = self.areas.get(area)
        return found is not None and found.kind == "thematic"

    def institution_named(self, name: str, country: str) -> RegisteredInstitution | None:
        """The registered institution of ``country`` called ``name`` (or with that acronym),
        compared case- and space-insensitively; None if there is none or several."""
        wanted = _normalised(name)
        found = [
            i
            for i in self.institutions.values()
            if i.country == country and wanted in (_normalised(i.name), _normalised(i.acronym))
        ]
        return found[0] if len(found) == 1 else None


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def _read(folder: tuple[str, ...], name: str) -> dict[str, Any]:
    text = resources.files(PACKAGE).joinpath(*folder, name).read_text(encoding="utf-8")
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
        msg = f"reference-data file {name} has no version"
        raise ValueError(msg)
    return doc


def _by_code(items: list[_T]) -> MappingProxyType[str, _T]:
    table = {(i.id if isinstance(i, RegisteredInstitution) else i.code): i for i in items}
    if len(table) != len(items):
        msg = "duplicate codes in reference data"
        raise ValueError(msg)
    return MappingProxyType(table)


@functools.cache
def reference_data(version: str = DEFAULT_VERSION) -> ReferenceData:
    """The packaged reference data of ``version`` (default 2024.1), read once on first use.

    Raises ``ValueError`` for a version that is not installed, or if the files disagree on
    their version or repeat a code.
    """
    folder = _FOLDERS.get(version)
    if folder is None:
        msg = f"reference data {version} is not installed (installed: {INSTALLED_VERSIONS})"
        raise ValueError(msg)
    docs = {name: _read(folder, name) for name in DATA_FILES}
    versions = sorted({doc["version"] for doc in docs.values()})
    if versions != [version]:
        msg = f"reference-data files of {version} carry the version(s) {versions}"
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
        institutions=_by_code([RegisteredInstitution(**i) for i in inst.get("registered", [])]),
    )
