"""Schema building blocks: strict base, UTC datetimes with ``Z``, pagination, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.platform.cursors import decode_cursor, decode_id

MAX_ID = 2**31 - 1


class StrictSchema(Schema):
    """Unknown fields are an error, never silently dropped (no mass assignment)."""

    class Meta:
        unknown = RAISE


# Any text but control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F).
SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
# The same, with at least one visible character.
VISIBLE_SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


class SingleLine(validate.Regexp):
    """One line of text: no control characters (line breaks, tabs, NUL). A name or a label ends
    up in e-mail headers and one-line displays, where they make no sense. A regular expression,
    so the OpenAPI spec states the rule as a ``pattern``."""

    def __init__(self, *, visible: bool = False) -> None:
        super().__init__(
            VISIBLE_SINGLE_LINE if visible else SINGLE_LINE,
            error="Must be a single line without control characters.",
        )

    def __call__(self, value: str) -> str:
        # The whole value (``$`` alone would let a final line break through).
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC with ``Z``; naive input is taken as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid datetime.")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValidationError("Not a valid ISO 8601 datetime.") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # 0001-01-01T00:00:00+01:00 is before the year 1 in UTC
            raise ValidationError("The datetime is out of range.") from exc


class StrictBoolean(fields.Boolean):
    """A JSON boolean: ``true`` or ``false`` only (not 0, 1, "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        # 0 == False and 1 == True in Python: check the type, not membership.
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# ``lat,lng`` with latitude in [-90, 90] and longitude in [-180, 180], as the OpenAPI pattern of
# query parameters that carry a point (the field's own parser enforces the same).
LAT_LNG_PATTERN = (
    r"^\s*[-+]?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)\s*,"
    r"\s*[-+]?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)\s*$"
)


def Id(**kwargs) -> fields.Integer:  # noqa: N802 - reads like a field class
    """An integer id within the database's range (huge numbers are a 422, not a 500)."""
    kwargs.setdefault("strict", True)
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class PaginationQuery(Schema):
    """``?page=1&per_page=20`` (at most 100)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


CURSOR_MAX_LENGTH = 200


class Cursor(fields.String):
    """An opaque ``next_cursor`` from a previous page: the (time, id) of the last row shown,
    base64url-encoded. Loads to ``(datetime, id)``; anything else is a 422 on ``cursor``."""

    decode = staticmethod(decode_cursor)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        decoded = self.decode(text) if len(text) <= CURSOR_MAX_LENGTH else None
        if decoded is None:
            raise ValidationError("Not a valid cursor: pass the next_cursor of a previous page.")
        return decoded


class IdCursor(Cursor):
    """A cursor of a list in id order (the last id shown). Loads to the id."""

    decode = staticmethod(decode_id)


class HistoryQuery(PaginationQuery):
    """``?page=&per_page=`` or, at any depth for the same cost, ``?cursor=&per_page=``."""

    cursor = Cursor(
        metadata={
            "maxLength": CURSOR_MAX_LENGTH,
            "pattern": "^[A-Za-z0-9_-]+$",
            "description": "The `next_cursor` of the previous page (keyset pagination: any depth "
            "costs the same); `page` is ignored when it is given.",
        },
    )


@cache
def history_page_of(item_schema: type[Schema]) -> type[Schema]:
    """The page of a long history: a page object with ``next_cursor`` (null on the last page)
    and ``total_exact`` (false when ``total`` is the counting cap, not the full count)."""
    name = item_schema.__name__.removesuffix("Schema") + "HistoryPage"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(
                required=True,
                allow_none=True,
                metadata={"description": "The page number; null when the page was a `cursor`."},
            ),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(
                required=True,
                metadata={"description": "Rows in all, counted up to 10,000 (see `total_exact`)."},
            ),
            "pages": fields.Integer(required=True),
            "total_exact": fields.Boolean(
                required=True,
                metadata={"description": "False when there are more than `total` rows."},
            ),
            "next_cursor": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "Pass as `?cursor=` for the next page; null at the end."},
            ),
        },
        name=name,
    )


@cache
def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The paginated list schema wrapping ``item_schema``."""
    name = item_schema.__name__.removesuffix("Schema") + "Page"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
        name=name,
    )


class ErrorDetailSchema(Schema):
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    request_id = fields.String(allow_none=True)
    # ``fields`` would shadow Schema.fields; the attribute is renamed, the JSON key is not.
    field_errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), data_key="fields"
    )


class ErrorSchema(Schema):
    """The one error shape."""

    error = fields.Nested(ErrorDetailSchema, required=True)


JSON_VALUE_REF = "#/components/schemas/JsonValue"
# Any JSON value three levels deep, named so that generated clients get real types for free-form
# details (a self-referencing schema does not compile in TypeScript's generated types).
_SCALARS = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]


def _json_level(inner: dict) -> dict:
    return {
        "anyOf": [
            *_SCALARS,
            {"type": "array", "items": inner},
            {"type": "object", "additionalProperties": inner},
        ]
    }


JSON_SCHEMAS = {
    "JsonScalar": {"description": "A JSON string, number, boolean or null.", "anyOf": _SCALARS},
    "JsonValue1": _json_level({"$ref": "#/components/schemas/JsonScalar"}),
    "JsonValue2": _json_level({"$ref": "#/components/schemas/JsonValue1"}),
    "JsonValue": {
        "description": "A JSON value (objects and lists nest up to three levels).",
        **_json_level({"$ref": "#/components/schemas/JsonValue2"}),
    },
}


def JsonObject(**kwargs: Any) -> fields.Dict:  # noqa: N802 - reads like a field class
    """A free-form JSON object (details, notice data): string keys, any JSON values."""
    metadata = {"additionalProperties": {"$ref": JSON_VALUE_REF}, **kwargs.pop("metadata", {})}
    return fields.Dict(keys=fields.String(), metadata=metadata, **kwargs)
