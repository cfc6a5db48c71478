"""Hash format 2: RFC 8785 (JCS) canonical JSON, on the writer's and the auditor's side.

The vectors are RFC 8785's own: the number samples of its Appendix B (IEEE 754 bit
patterns and their ECMAScript text), the example of section 3.2.2 and the property
sorting example of section 3.2.3. Node.js (when present) checks random doubles too.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from uuid import UUID

import pytest

from engine.audit.offline import canonical as offline
from engine.audit.offline.chain import Record, analyse_instance
from engine.instance import hashing
from engine.instance.hashing import GENESIS_HASH, event_hash, hash_fields, jcs, jcs_hash

# RFC 8785 Appendix B: (IEEE 754 bits, ECMAScript serialisation)
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]
INVALID_BITS = ["7fffffffffffffff", "7ff0000000000000"]  # NaN, Infinity

# RFC 8785 section 3.2.2: input text and its canonical form
EXAMPLE_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
EXAMPLE_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)
# RFC 8785 section 3.2.3: keys and the order of their values after sorting
SORTING_INPUT = (
    '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With '
    'Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
    '"\\u00f6":"Latin Small Letter O With Diaeresis"}'
)
SORTED_VALUES = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]
BOTH = [hashing.jcs, offline.jcs]


def _double(bits: str) -> float:
    return float(struct.unpack(">d", bytes.fromhex(bits))[0])


@pytest.mark.parametrize("impl", BOTH, ids=["writer", "reader"])
@pytest.mark.parametrize(("bits", "text"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(impl: object, bits: str, text: str) -> None:
    assert impl(_double(bits)) == text  # type: ignore[operator]


@pytest.mark.parametrize("impl", BOTH, ids=["writer", "reader"])
@pytest.mark.parametrize("bits", INVALID_BITS)
def test_nan_and_infinity_are_refused(impl: object, bits: str) -> None:
    with pytest.raises(ValueError, match="RFC 8785"):
        impl(_double(bits))  # type: ignore[operator]
    with pytest.raises(ValueError, match="RFC 8785"):
        impl(-_double(bits))  # type: ignore[operator]


@pytest.mark.parametrize("impl", BOTH, ids=["writer", "reader"])
def test_rfc8785_section_3_2_2_example(impl: object) -> None:
    assert impl(json.loads(EXAMPLE_INPUT)) == EXAMPLE_OUTPUT  # type: ignore[operator]


@pytest.mark.parametrize("impl", BOTH, ids=["writer", "reader"])
def test_rfc8785_section_3_2_3_sorting(impl: object) -> None:
    text = impl(json.loads(SORTING_INPUT))  # type: ignore[operator]
    assert list(json.loads(text).values()) == SORTED_VALUES


@pytest.mark.parametrize("impl", BOTH, ids=["writer", "reader"])
def test_integers_beyond_2_53_and_lone_surrogates_are_refused(impl: object) -> None:
    assert impl([2**53, -(2**53), 0, -1]) == "[9007199254740992,-9007199254740992,0,-1]"  # type: ignore[operator]
    with pytest.raises(ValueError, match="2\\*\\*53"):
        impl({"n": 2**53 + 1})  # type: ignore[operator]
    with pytest.raises(ValueError, match="2\\*\\*53"):
        impl([-(2**53) - 1])  # type: ignore[operator]
    with pytest.raises(UnicodeEncodeError):
        impl("\ud800").encode("utf-8")  # type: ignore[operator]


def test_control_characters_use_lowercase_unicode_escapes_and_del_is_literal() -> None:
    text = "".join(chr(c) for c in range(0x20)) + "\x7f\u2028/"
    expected = json.dumps(text, ensure_ascii=False)
    assert jcs(text) == offline.jcs(text) == expected
    assert "\\u001f" in expected
    assert "\\b\\t\\n\\u000b\\f\\r" in expected


def test_the_writer_refuses_non_string_keys_and_unknown_types() -> None:
    # Object keys are strings in every event (payloads and guard inputs are dumped as JSON
    # data); the member-by-member form, which jcs falls back to, refuses any other key.
    with pytest.raises(TypeError, match="not a string"):
        hashing.jcs_tree({1: "x"})
    with pytest.raises(TypeError, match="canonical form"):
        jcs({"x": object()})
    with pytest.raises(ValueError, match="not a string"):
        offline.jcs_tree({1: "x"})


def test_the_writer_turns_times_and_uuids_into_strings() -> None:
    at = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    iid = UUID("11111111-1111-4111-8111-111111111111")
    assert jcs({"at": at, "id": iid}) == (
        '{"at":"2024-01-02T03:04:05.000006+00:00","id":"11111111-1111-4111-8111-111111111111"}'
    )


def test_writer_and_reader_agree_on_many_values() -> None:
    rng = random.Random(8785)
    for _ in range(2000):
        value = {
            "f": rng.uniform(-1e25, 1e25) * 10 ** rng.randint(-30, 30),
            "i": rng.randint(-(2**53), 2**53),
            "s": "".join(chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0xD7FF),
                                         rng.randint(0xE000, 0x10FFFF)])) for _ in range(5)),
            "l": [rng.random(), None, True],
        }  # fmt: skip
        value[value["s"]] = 1
        assert hashing.jcs(value) == offline.jcs(json.loads(json.dumps(value)))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_numbers_and_key_order_match_ecmascript() -> None:
    rng = random.Random(2020)
    doubles = [struct.unpack(">d", rng.randbytes(8))[0] for _ in range(3000)]
    doubles = [d for d in doubles if d == d and abs(d) != float("inf")]
    doubles += [rng.uniform(-1000, 1000) for _ in range(500)] + [1e21, 1e-7, 123e-20, 0.1]
    keys = ["".join(chr(rng.randint(0x20, 0x10FFFF)) for _ in range(3)) for _ in range(200)]
    keys = [k for k in keys if not any(0xD800 <= ord(c) <= 0xDFFF for c in k)]
    script = (
        "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "const keys=[...d.keys].sort();"  # JS sorts strings by UTF-16 code units
        "process.stdout.write(JSON.stringify({n:d.n.map(x=>String(x)),keys}))"
    )
    data = json.dumps({"n": doubles, "keys": keys}, ensure_ascii=False)
    node = shutil.which("node") or "node"
    out = subprocess.run(
        [node, "-e", script], input=data, capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    assert [jcs(d) for d in doubles] == got["n"]
    assert list(json.loads(jcs(dict.fromkeys(keys, 0)))) == got["keys"]


def _body(fmt: int | None, prev: str = GENESIS_HASH) -> dict[str, object]:
    body: dict[str, object] = {"prev_hash": prev, "payload": {"x": 1.0, "€": "ö"}, "role": "r"}
    if fmt is not None:
        body |= {"hash_format": fmt, "event_version": 1}
    return body


AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
IID = UUID("11111111-1111-4111-8111-111111111111")
TOPIC = "socieux.instance:Transitioned"


def _fields(body: dict[str, object], version: int) -> dict[str, object]:
    return {**body, "topic": TOPIC, "originator_id": str(IID), "originator_version": version,
            "timestamp": hashing.utc_iso(AT)}  # fmt: skip


def test_event_hash_format_1_is_unchanged_and_format_2_is_jcs() -> None:
    one, two = _body(None), _body(2)
    h1 = event_hash(topic=TOPIC, originator_id=IID, originator_version=1, timestamp=AT, body=one)
    h2 = event_hash(topic=TOPIC, originator_id=IID, originator_version=1, timestamp=AT, body=two)
    assert h1 == hash_fields(_fields(one, 1))
    assert h2 == jcs_hash(_fields(two, 1)) != hash_fields(_fields(two, 1))
    assert offline.event_digest(_fields(one, 1)) == h1
    assert offline.event_digest(json.loads(json.dumps(_fields(two, 1)))) == h2
    explicit = event_hash(
        topic=TOPIC, originator_id=IID, originator_version=1, timestamp=AT, body=_body(1)
    )
    assert explicit == hash_fields(_fields(_body(1), 1))


@pytest.mark.parametrize("fmt", [3, 0, "2", True])
def test_an_unknown_hash_format_is_refused_when_hashing(fmt: object) -> None:
    body = {**_body(None), "hash_format": fmt}
    with pytest.raises(ValueError, match="hash_format"):
        event_hash(topic=TOPIC, originator_id=IID, originator_version=1, timestamp=AT, body=body)


def test_format_2_refuses_nan_and_huge_integers_at_hashing_time() -> None:
    for bad in (float("nan"), float("inf"), 2**60):
        body = {**_body(2), "payload": {"x": bad}}
        with pytest.raises(ValueError, match=r"RFC 8785|2\*\*53"):
            event_hash(
                topic=TOPIC, originator_id=IID, originator_version=1, timestamp=AT, body=body
            )


def _record(body: dict[str, object], version: int) -> Record:
    fields = json.loads(json.dumps(_fields(body, version)))
    digest = event_hash(
        topic=TOPIC, originator_id=IID, originator_version=version, timestamp=AT, body=body
    )
    del fields["originator_version"]
    return Record(str(IID), version, fields, digest)


def test_a_chain_mixing_both_formats_verifies_offline_and_tampering_shows() -> None:
    r1 = _record(_body(None), 1)
    r2 = _record(_body(2, r1.stored_hash or ""), 2)
    r3 = _record(_body(2, r2.stored_hash or ""), 3)
    assert all(r.intact for r in (r1, r2, r3))
    assert analyse_instance(str(IID), [r1, r2, r3]) == []
    forged = Record(str(IID), 2, {**(r2.fields or {}), "hash_format": 1}, r2.stored_hash)
    kinds = {(p.kind, p.version) for p in analyse_instance(str(IID), [r1, forged, r3])}
    assert ("altered", 2) in kinds


def test_a_record_whose_format_2_fields_cannot_be_canonicalised_is_altered() -> None:
    r1 = _record(_body(2), 1)
    bad = Record(str(IID), 1, {**(r1.fields or {}), "payload": {"x": float("nan")}}, r1.stored_hash)
    assert not bad.intact
    (problem,) = analyse_instance(str(IID), [bad])
    assert problem.kind == "altered"
    assert "canonical form" in problem.detail
