"""Form input -> the API's own schemas, and their complaints -> messages beside each field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from galactic_goofs.errors import Conflict

Model = TypeVar("Model", bound=BaseModel)

FRIENDLY = {
    "string_too_short": "Required: type at least one character",
    "string_too_long": "Too long: at most {max_length} characters",
    "enum": "Pick one of the listed values",
}


class FormErrors(dict[str, str]):
    """Field name -> message; the key `""` holds what belongs to the form as a whole."""


def parse(schema: type[Model], values: Mapping[str, str]) -> Model | FormErrors:
    try:
        return schema.model_validate(dict(values))
    except ValidationError as error:
        return errors_from(error)


def errors_from(error: ValidationError) -> FormErrors:
    errors = FormErrors()
    for detail in error.errors():
        field = str(detail["loc"][0]) if detail["loc"] else ""
        errors.setdefault(field, _message(detail))
    return errors


def conflict_errors(error: Conflict) -> FormErrors:
    # The only conflict a single field causes is a COSPAR ID that is taken; the rest (a stale
    # version) is about the whole form.
    field = "cospar_id" if error.message.startswith("COSPAR ID") else ""
    return FormErrors({field: error.message})


def _message(detail: Any) -> str:
    template = FRIENDLY.get(detail["type"])
    if template is not None:
        return template.format(**detail.get("ctx", {}))
    message: str = detail["msg"]
    return message.removeprefix("Value error, ")
