"""``duplicate_keys`` (services/ingest/validation.py) finds exactly the repeated names that a
parse keeping every name/value pair finds, wherever ":" and quotes sit in the body's strings and
whatever whitespace surrounds its colons: its shortcut for bodies without a repeat must never
hide one."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.validation import duplicate_keys

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
