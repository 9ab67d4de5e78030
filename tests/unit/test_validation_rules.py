"""The schema shows the rules for text exactly as the server checks them."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest
from pydantic import ValidationError

from galactic_goofs import validation
from galactic_goofs.anomalies.schemas import NOTE_MAX, AcknowledgeRequest, NoteCreate
from galactic_goofs.fleet.schemas import MalfunctionRequest, SpacecraftCreate

SCHEMA = SpacecraftCreate.model_json_schema()["properties"]
EVERY = [chr(code) for code in range(sys.maxunicode + 1)]
CONTROL = [ch for ch in EVERY if unicodedata.category(ch) == "Cc"]
SPACES = [ch for ch in EVERY if ch.isspace()]


def schema_accepts(schema: dict[str, object], value: str) -> bool:
    pattern = schema["pattern"]
    assert isinstance(pattern, str)
    return (
        int(str(schema.get("minLength", 0))) <= len(value) <= int(str(schema["maxLength"]))
        # As JSON Schema reads `$`: the very end, where Python's also allows a final newline.
        and re.search(pattern.removesuffix("$") + r"\Z", value) is not None
    )


def server_accepts(field: str, value: str) -> bool:
    payload = {"name": "Hubble", "cospar_id": "1990-037B", field: value}
    try:
        SpacecraftCreate.model_validate(payload)
    except ValidationError:
        return False
    return True


def samples(alphabet: str, seed: int, count: int = 200, longest: int = 24) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(alphabet, k=rng.randint(0, longest))) for _ in range(count)]


def test_trimmed_space_is_what_python_strips_besides_control_characters() -> None:
    trimmed = re.compile(f"[{validation.TRIMMED_SPACE}]")
    listed = [ch for ch in SPACES if trimmed.fullmatch(ch)]
    assert listed == [ch for ch in SPACES if ch not in CONTROL]


def test_control_characters_are_exactly_unicodes_category_cc() -> None:
    control = re.compile(f"[{validation.CONTROL_CHARACTERS}]")
    matched = [ch for ch in EVERY if control.fullmatch(ch)]
    assert matched == CONTROL


NAMES = [
    "Hubble",
    "  Padded  ",
    "   ",
    "",
    "\u3000",
    "\ufeff",
    "Hub\nble",
    "Hubble\n",
    "\x85Hubble",
    "x" * 50,
    "x" * 51,
    " " + "x" * 50,
    "\u05d7\u05dc\u05dc\u05d9\u05ea \U0001f6f0\ufe0f",
]
NAME_ALPHABET = "aZ9 \t\n\x00\x1f\x7f\x85\x9f\xa0\u1680\u2000\u200b\u2028\u3000\ufeff\U0001f680"


@pytest.mark.parametrize("name", NAMES + samples(NAME_ALPHABET, seed=1, longest=60))
def test_a_name_is_accepted_exactly_when_the_schema_says_so(name: str) -> None:
    assert server_accepts("name", name) == schema_accepts(SCHEMA["name"], name), repr(name)


COSPAR_IDS = [
    "1990-037B",
    "1957-001A",
    "1956-999A",
    "1950-001A",
    "1990-000A",
    "9999-999ZZZ",
    "1998-067a",
    " 2024-999ZZZ\u3000",
    "1990-037B\n",
    "1990-037I",
    "1990-037\u017f",  # LATIN SMALL LETTER LONG S, which str.upper() makes an S
    "\u0661\u0669\u0669\u0660-037B",  # Arabic-Indic digits, which int() reads
    "1990-037ABCD",
    " " * 11 + "1990-037B",
]


def near_cospar_ids(seed: int, count: int = 200) -> list[str]:
    """Designators from parts that are each sometimes wrong: some valid, most nearly so."""
    rng = random.Random(seed)
    pad = ["", "", "", "", " ", "\u3000", "\n"]
    years = ["1990", "1957", "2999", "1956", "0999", "199", "\u0661\u0669\u0669\u0660"]
    launches = ["037", "001", "999", "000", "37", "0371"]
    pieces = ["B", "ZZZ", "a", "hjk", "I", "o", "ABCD", "", "\u017f"]
    return [
        rng.choice(pad)
        + rng.choice(years)
        + rng.choice(["-", "-", "-", "_"])
        + rng.choice(launches)
        + rng.choice(pieces)
        + rng.choice(pad)
        for _ in range(count)
    ]


@pytest.mark.parametrize("cospar_id", COSPAR_IDS + near_cospar_ids(seed=2))
def test_a_cospar_id_is_accepted_exactly_when_the_schema_says_so(cospar_id: str) -> None:
    accepted = server_accepts("cospar_id", cospar_id)
    assert accepted == schema_accepts(SCHEMA["cospar_id"], cospar_id), repr(cospar_id)


def test_enough_generated_cospar_ids_are_valid_to_tell_anything() -> None:
    accepted = sum(server_accepts("cospar_id", value) for value in near_cospar_ids(seed=2))
    assert accepted >= 5


def test_a_description_with_a_control_character_is_refused_in_its_own_name() -> None:
    with pytest.raises(ValidationError) as refused:
        MalfunctionRequest.model_validate({"description": "Sulking\x07"})

    assert "description must not contain control characters" in str(refused.value)
    description = MalfunctionRequest.model_json_schema()["properties"]["description"]
    assert description["anyOf"][0]["pattern"] == validation.TEXT


NOTE_SCHEMA = NoteCreate.model_json_schema()["properties"]["text"]
NOTES = [
    "Rebooted.",
    "Line one\nline two",
    "Line one\r\nline two\r\n",
    "\n\nPadded\n\n",
    "\n",
    "\r\n",
    "Lone\rreturn",
    "Tab\there",
    "NUL\x00",
    "\x85Next line",
    "Ends with a return\r",
    "\r\r\n",
    "x" * NOTE_MAX,
    "x" * (NOTE_MAX + 1),
]
NOTE_ALPHABET = "aZ9 \t\n\r\x00\x0b\x1f\x7f\x85\xa0\u2028\u3000\U0001f680"


def note_accepted(text: str) -> bool:
    try:
        NoteCreate.model_validate({"text": text})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("text", NOTES + samples(NOTE_ALPHABET, seed=3, longest=30))
def test_a_note_is_accepted_exactly_when_the_schema_says_so(text: str) -> None:
    assert note_accepted(text) == schema_accepts(NOTE_SCHEMA, text), repr(text)
    assert NOTE_SCHEMA["pattern"] == validation.MULTILINE_TEXT


def test_a_note_keeps_its_line_breaks_as_newlines_and_refuses_other_control_characters() -> None:
    note = NoteCreate.model_validate({"text": "  First line\r\n\r\nSecond line\n"})
    assert note.text == "First line\n\nSecond line"

    for sneaky in ["Tab\there", "Bell\x07", "Lone\rreturn", "Next\x85line"]:
        with pytest.raises(ValidationError) as refused:
            NoteCreate.model_validate({"text": sneaky})
        assert "text must not contain control characters other than line breaks" in str(
            refused.value
        ), repr(sneaky)


def test_single_line_fields_still_refuse_line_breaks() -> None:
    with pytest.raises(ValidationError):
        SpacecraftCreate.model_validate({"name": "Two\r\nlines", "cospar_id": "1990-037B"})
    with pytest.raises(ValidationError):
        AcknowledgeRequest.model_validate({"comment": "Two\nlines"})
