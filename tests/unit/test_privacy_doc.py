"""docs/privacy.md's worked example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_worked_example_prints_what_it_promises() -> None:
    code = _examples()[1]
    promised = re.findall(r"# prints: (.*)", code)
    assert len(promised) == 9
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec", dont_inherit=True), {})
    assert out.getvalue().splitlines() == promised


def test_the_declaration_example_declares_the_subjects_it_says() -> None:
    from pydantic import BaseModel

    from engine.privacy.subjects import personal_values

    scope: dict[str, object] = {}
    exec(compile(_examples()[0], str(DOC), "exec", dont_inherit=True), scope)
    expert, contact = scope["Expert"], scope["ContactPerson"]
    assert isinstance(expert, type)
    assert issubclass(expert, BaseModel)
    assert isinstance(contact, type)
    assert issubclass(contact, BaseModel)
    found = personal_values(expert, {"id": "E-1", "name": "A"}, "iid")
    assert [(v.path, v.subject) for v in found] == [("name", "expert:E-1")]
    found = personal_values(contact, {"name": "A", "email": "a@b.c"}, "iid")
    assert [v.subject for v in found] == ["contact:iid", "contact:iid"]


def test_the_legal_hold_example_prints_what_it_promises() -> None:
    code = _examples()[2]
    promised = re.findall(r"# prints: (.*)", code)
    assert len(promised) == 3
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec", dont_inherit=True), {})
    assert out.getvalue().splitlines() == promised
