"""JSON from clients, read so that no input can crash the server: a body or parameter nested too deeply for the
parser (a 2 KB `[[[[...]]]]` makes Python's json raise RecursionError) is a 400 in the one error shape like any
other unparseable JSON, never a 500 with a traceback (issue 12)."""

import json
from typing import Any

from django import forms
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

TOO_DEEP = "JSON nested too deeply."


def loads(text: str | bytes) -> Any:
    """`json.loads`, raising ValueError (json.JSONDecodeError's base) for anything it cannot read, nesting too deep
    included."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError(TOO_DEEP) from exc


class SafeJSONParser(JSONParser):
    """Every API body: DRF's parser answers ValueError with a 400; too deep a nesting is answered the same way."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from exc


class SafeJSONFormField(forms.JSONField):
    """The admin's JSON inputs (a plan's times or days): too deep a nesting is a form error, not a 500."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError as exc:
            raise forms.ValidationError(TOO_DEEP, code="invalid") from exc

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return super().has_changed(initial, data)
        except RecursionError:
            return True
