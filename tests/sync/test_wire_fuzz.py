"""Fuzzing what the server sends: whatever the bytes or JSON, reading an answer either
gives checked records or a BadResponse in words, never another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmitra_desktop.domain.validation import bare_file_name
from medmitra_desktop.sync import wire
from medmitra_desktop.sync.errors import BadResponse

RUNS = 200

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner,
                                                               max_size=8),
    max_leaves=30)
field_names = st.sampled_from([
    "case_id", "user_id", "patient_name", "patient_age", "patient_gender", "case_summary",
    "status", "created_at", "file_id", "file_name", "file_type", "file_size",
    "file_category", "case", "cases", "files", "uploaded_files", "ai_insights", "file",
    "key_findings", "overall_confidence_score", "comprehensive_summary", "detail"])
# Objects shaped like the API's, with wrong types and values mixed in.
api_like = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(field_names, inner,
                                                               max_size=10),
    max_leaves=40)

PARSERS = [wire.parse_case, wire.parse_cases, wire.parse_created, wire.parse_detail,
           wire.parse_files, wire.parse_file, wire.parse_insights]


@settings(max_examples=RUNS, deadline=None)
@given(value=json_values | api_like, parser=st.sampled_from(PARSERS))
def test_parsers_accept_or_refuse_in_words(value: object, parser) -> None:
    try:
        parsed = parser(value)
    except BadResponse as error:
        assert str(error)
        return
    if isinstance(parsed, wire.RemoteCase):
        assert 0 <= parsed.patient_age <= 150 and len(parsed.patient_name) <= 200


@settings(max_examples=RUNS, deadline=None)
@given(body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
       content_type=st.sampled_from(["application/json", "text/html", "",
                                     "application/json; charset=utf-8"]))
def test_any_body_decodes_or_is_refused(body: bytes, content_type: str) -> None:
    with contextlib.suppress(BadResponse):
        wire.decode(body, content_type)
    assert wire.error_detail(body) is None or isinstance(wire.error_detail(body), str)


@settings(max_examples=RUNS, deadline=None)
@given(name=st.text(max_size=300))
def test_file_names_from_a_server_are_always_bare(name: str) -> None:
    safe = bare_file_name(name)
    assert safe and "/" not in safe and "\\" not in safe and ":" not in safe
    assert not safe.startswith(".") and len(safe) <= 255
    assert all(ch.isprintable() for ch in safe)


def test_deeply_nested_json_is_refused_not_crashed_on() -> None:
    body = ("[" * 100_000 + "]" * 100_000).encode()
    with pytest.raises(BadResponse):
        wire.decode(body, "application/json")
    assert wire.decode(json.dumps({"ok": 1}).encode(), "application/json") == {"ok": 1}
