"""The JSONL schema is one typed definition (codeagent.events) and the README's table
says exactly what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codeagent.events import EVENTS, EventBus, fields_of

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_table() -> dict[str, dict[str, bool]]:
    text = README.read_text()
    table = text[text.index("| kind | fields |"):]
    rows: dict[str, dict[str, bool]] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        kinds_cell, fields_cell = line.strip("|").split("|", 1)
        kinds = re.findall(r"`([a-z_]+)`", kinds_cell)
        fields = {m.rstrip("?"): not m.endswith("?") for m in re.findall(r"`([a-z_]+\??)`", fields_cell)}
        for kind in kinds:
            rows[kind] = fields
    rows.pop("result", None)  # the stdout result line is not an event
    return rows


def test_every_event_kind_is_documented_with_exactly_its_fields():
    documented = readme_table()
    assert set(documented) == set(EVENTS)
    for kind, fields in documented.items():
        schema = {name: required for name, required in fields_of(kind).items() if name != "attempt"}
        assert fields == schema, kind


def test_emit_refuses_what_the_schema_does_not_have():
    bus = EventBus()
    with pytest.raises(TypeError):
        bus.emit("checkpoint", step=1)  # sha missing
    with pytest.raises(TypeError):
        bus.emit("checkpoint", step=1, sha="abc", colour="red")
    with pytest.raises(KeyError):
        bus.emit("no_such_kind")
    event = bus.emit("warning", message="careful")
    assert event.to_dict().keys() == {"kind", "ts", "message"}  # optional fields left out
