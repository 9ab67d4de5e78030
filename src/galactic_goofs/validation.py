"""The rules for text a client sends, shown in the OpenAPI schema exactly as they are checked.

Each rule is written once here: a pattern the schema shows (so a client, or a fuzzer, can tell
what is accepted) and a validator that checks the same thing with a message a person
understands. Text is checked as sent, then trimmed: a rule the schema shows has to hold for
what the client sends, not for what the server made of it. (The 422 answer itself is
`galactic_goofs.unprocessable`; these rules also serve the console's forms and need no FastAPI.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
"""Unicode's control characters (category Cc: C0, DEL and C1), as a range for a character
class; written so that both JSON Schema's regular expressions and Python's read it alike."""
TRIMMED_SPACE = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What `str.strip()` removes that is not a control character (a unit test holds it to
Python's own idea of white space)."""
NO_CONTROL_CHARACTERS = f"^[^{CONTROL_CHARACTERS}]*$"
"""A pattern for text that may be empty but holds no control character (search terms)."""
TEXT = f"^[^{CONTROL_CHARACTERS}]*[^{CONTROL_CHARACTERS}{TRIMMED_SPACE}][^{CONTROL_CHARACTERS}]*$"
"""Some text besides white space, and no control character anywhere."""
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_LINE_CHARACTER = r"(?:[^\x00-\x09\x0b-\x1f\x7f-\x9f]|\r\n)"
"""One character of prose: anything but a control character, except a line break (\\n or
\\r\\n, as a textarea sends it)."""
MULTILINE_TEXT = f"^{_LINE_CHARACTER}*[^{CONTROL_CHARACTERS}{TRIMMED_SPACE}]{_LINE_CHARACTER}*$"
"""Some text besides white space, in lines; no other control character anywhere (a lone \\r
is one: a line ends with \\n)."""
_CONTROL_BESIDES_LINE_BREAKS = re.compile(r"\r(?!\n)|[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")

COSPAR_ID = (
    f"^[{TRIMMED_SPACE}]*"
    r"(195[7-9]|19[6-9][0-9]|[2-9][0-9]{3})-(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})"
    r"[A-HJ-NP-Za-hj-np-z]{1,3}"
    f"[{TRIMMED_SPACE}]*$"
)
"""An international designator as the schema shows it: launch year 1957 or later, launch
number 001-999, one to three piece letters without I and O, in either case, maybe padded."""
_COSPAR_PARTS = re.compile(
    r"(?P<year>[0-9]{4})-(?P<launch>[0-9]{3})(?P<piece>[A-HJ-NP-Z]{1,3})", re.ASCII | re.IGNORECASE
)
FIRST_LAUNCH_YEAR = 1957  # Sputnik 1 is 1957-001B; its rocket body 1957-001A.


@dataclass(frozen=True)
class Text:
    """`Annotated[str, Text("name", max_length=50)]`: required text called `field`, at most
    `max_length` characters as sent, no control character, trimmed, and not blank."""

    field: str
    max_length: int

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self._trimmed, core_schema.str_schema(min_length=1, max_length=self.max_length)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "pattern": TEXT}

    def _trimmed(self, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError(
                f"{self.field} must not contain control characters (tabs, newlines, NUL, ...)"
            )
        return _not_blank(value.strip())


@dataclass(frozen=True)
class MultilineText(Text):
    """`Annotated[str, MultilineText("text", max_length=4000)]`: prose such as a note; as
    `Text`, but it may hold line breaks. `\\r\\n` (what a browser's textarea sends) becomes
    `\\n`; any other control character (a tab, NUL, a lone `\\r`) is refused. `max_length`
    counts the text as sent."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "pattern": MULTILINE_TEXT}

    def _trimmed(self, value: str) -> str:
        if _CONTROL_BESIDES_LINE_BREAKS.search(value):
            raise ValueError(
                f"{self.field} must not contain control characters other than line breaks "
                "(tabs, NUL, ...)"
            )
        return _not_blank(value.replace("\r\n", "\n").strip())


def _not_blank(trimmed: str) -> str:
    if not trimmed:
        # Pydantic's own error for an empty string, so it reads the same either way.
        raise PydanticCustomError(
            "string_too_short",
            "String should have at least {min_length} character",
            {"min_length": 1},
        )
    return trimmed


def _cospar_id(value: str) -> str:
    match = None if _CONTROL.search(value) else _COSPAR_PARTS.fullmatch(value.strip())
    if match is None:
        raise ValueError(
            "COSPAR ID must look like 1998-067A: launch year, a dash, a three-digit launch "
            "number and one to three piece letters (A-Z, without I and O)"
        )
    if int(match["year"]) < FIRST_LAUNCH_YEAR:
        raise ValueError(f"COSPAR ID launch year must be {FIRST_LAUNCH_YEAR} or later")
    if match["launch"] == "000":
        raise ValueError("COSPAR ID launch number must be between 001 and 999")
    return match.group().upper()


CosparId = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(_cospar_id),
    Field(
        examples=["1990-037B"],
        description="International designator YYYY-NNNP[PP]",
        json_schema_extra={"pattern": COSPAR_ID},
    ),
]
