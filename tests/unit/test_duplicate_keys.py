"""``duplicate_keys`` (services/ingest/validation.py) finds exactly the repeated names that a
parse keeping every name/value pair finds, wherever ":" and quotes sit in the body's strings and
whatever whitespace surrounds its colons: its shortcut for bodies without a repeat must never
hide one; nor may the ingest's, from the names a parsed report kept."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.ingest.errors import ApiError
from services.ingest.validation import duplicate_keys, parse_body, run_now
from shared.targets import load_targets
from shared.wire import GigabitReport, SitesReport
from shared.wire_alerts import SubscriptionRequest
from tests.support.reports import gigabit_report, site, sites_report

_TARGETS = load_targets()
_INDICATORS = {indicator.key for indicator in _TARGETS.gigabit.indicators}

# Few names, so objects often repeat one; names and strings full of what the shortcut counts.
NAMES = st.sampled_from(["a", "b", ":", 'q":', "x :", "\\:", "\t:", "lat", "\u5386:"])
STRINGS = st.text(alphabet=':" \\\t\n\rab\u5386', max_size=6)
SPACE = st.sampled_from(["", " ", "\t", "\n", "\r\n  "])


@st.composite
def json_texts(draw: st.DrawFn, depth: int = 3) -> str:
    """JSON text, possibly with a name twice in an object, in varied spacing and escaping."""
    choice = draw(st.integers(0, 3 if depth else 1))
    if choice == 0:
        return json.dumps(draw(STRINGS), ensure_ascii=draw(st.booleans()))
    if choice == 1:
        return draw(st.sampled_from(["1", "-2.5", "true", "null"]))
    if choice == 2:
        items = draw(st.lists(json_texts(depth - 1), max_size=3))
        return "[" + ",".join(f"{draw(SPACE)}{item}" for item in items) + "]"
    members = draw(st.lists(st.tuples(NAMES, json_texts(depth - 1)), max_size=5))
    rendered = [
        f"{draw(SPACE)}{json.dumps(name, ensure_ascii=draw(st.booleans()))}"
        f"{draw(SPACE)}:{draw(SPACE)}{value}"
        for name, value in members
    ]
    return "{" + ",".join(rendered) + draw(SPACE) + "}"


def repeated_names(body: bytes) -> list[tuple[list[str | int], str]]:
    """The reference: every object's pairs, kept, and each name seen twice, with where."""
    found: list[tuple[list[str | int], str]] = []

    def walk(loc: list[str | int], node: Any) -> None:
        if isinstance(node, list) and node and isinstance(node[0], Pair):
            names: list[str] = []
            for pair in node:
                if pair.name in names and [*loc, pair.name] not in [f[0] for f in found]:
                    found.append(([*loc, pair.name], "duplicate_key"))
                names.append(pair.name)
            last = {pair.name: pair.value for pair in node}
            for name, value in last.items():
                walk([*loc, name], value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk([*loc, index], value)

    walk(["body"], json.loads(body, object_pairs_hook=lambda pairs: [Pair(*p) for p in pairs]))
    return found


class Pair:
    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value


@settings(max_examples=400, deadline=None)
@given(json_texts())
def test_duplicate_keys_finds_exactly_the_names_an_object_repeats(text: str) -> None:
    body = text.encode()
    found = sorted(((e.loc, e.code) for e in duplicate_keys(body)), key=repr)
    assert found == sorted(repeated_names(body), key=repr)


def test_a_repeat_is_found_in_a_body_whose_strings_hold_colons() -> None:
    body = b'{"id":"x:y","a":1,"a":2,"s":"p : q"}'
    assert [(e.loc, e.code) for e in duplicate_keys(body)] == [(["body", "a"], "duplicate_key")]


# The ingest's shortcut: the names the parsed report kept (``names_kept``) against the colons.
_TEXT_WITH_COLONS = st.text(alphabet=':" \\ab\u5386', min_size=1, max_size=6)


@st.composite
def _valid_bodies(draw: st.DrawFn) -> tuple[type[BaseModel], Any]:
    kind = draw(st.sampled_from(["sites", "gigabit", "subscription"]))
    if kind == "sites":
        sites = [
            site(draw(st.sampled_from(["JN-1", "a:b", "x/y:z"])) + str(n))
            | draw(st.fixed_dictionaries({}, optional={"district": _TEXT_WITH_COLONS}))
            for n in range(draw(st.integers(0, 4)))
        ]
        return SitesReport, sites_report(*sites, report_id=draw(st.sampled_from(["r:1", "r1"])))
    if kind == "gigabit":
        keys = draw(st.lists(st.sampled_from(sorted(_INDICATORS)), min_size=1, unique=True))
        return GigabitReport, gigabit_report({key: 1.5 for key in keys})
    filters = draw(st.fixed_dictionaries({}, optional={"cities": st.just(["jinan"])}))
    body = {"url": "https://hooks.example.com/a:b", "secret": "s:" + "x" * 20}
    return SubscriptionRequest, body | ({"filters": filters} if filters is not None else {})


@st.composite
def _rendered(draw: st.DrawFn, value: Any) -> str:
    """``value`` as JSON text in varied spacing, sometimes with one of an object's names twice."""
    if isinstance(value, dict):
        members = [(name, draw(_rendered(item))) for name, item in value.items()]
        if members and draw(st.integers(0, 5)) == 0:
            members.append(draw(st.sampled_from(members)))
        return "{" + ",".join(f"{json.dumps(n)}{draw(SPACE)}:{v}" for n, v in members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(draw(_rendered(item)) for item in value) + "]"
    return json.dumps(value, ensure_ascii=draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_parsed_body_is_refused_exactly_when_an_object_repeats_a_name(
    data: st.DataObject,
) -> None:
    model, value = data.draw(_valid_bodies())
    body = data.draw(_rendered(value)).encode()
    expected = sorted(repeated_names(body), key=repr)
    try:
        run_now(parse_body(body, model, _TARGETS))
        found: list[tuple[list[str | int], str]] = []
    except ApiError as refused:
        assert refused.status == 422
        found = sorted(((e.loc, e.code) for e in refused.errors), key=repr)
    assert found == expected
