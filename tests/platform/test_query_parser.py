"""The API's query-string parser: parsed arguments remembered per query string, safely."""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import Schema, fields, post_load, validate, validates_schema

from app.platform.blueprint import QueryMemoParser


class CountingQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    q = fields.String()
    loads = 0

    @validates_schema
    def count(self, data, **kwargs):
        type(self).loads += 1


class BuildsObjects(Schema):
    page = fields.Integer(load_default=1)
    loads = 0

    @post_load
    def build(self, data, **kwargs):
        type(self).loads += 1
        return {"built": [data["page"]]}


class ClockDefault(Schema):
    tags = fields.List(fields.String(), load_default=list)


@pytest.fixture
def flask_app():
    return Flask(__name__)


def parse(parser, schema, app, query: str):
    with app.test_request_context(f"/x?{query}" if query else "/x"):
        return parser.parse(schema, location="query")


def test_the_same_query_string_is_loaded_once(flask_app):
    parser, schema = QueryMemoParser(), CountingQuery()
    CountingQuery.loads = 0
    first = parse(parser, schema, flask_app, "page=2&q=north")
    second = parse(parser, schema, flask_app, "page=2&q=north")
    assert first == second == {"page": 2, "q": "north"}
    assert CountingQuery.loads == 1
    assert parse(parser, schema, flask_app, "") == {"page": 1}
    assert CountingQuery.loads == 2


def test_a_caller_changing_its_arguments_does_not_change_the_next_callers(flask_app):
    parser, schema = QueryMemoParser(), CountingQuery()
    first = parse(parser, schema, flask_app, "page=3")
    first["page"] = 99
    first.pop("page")
    assert parse(parser, schema, flask_app, "page=3") == {"page": 3}


def test_invalid_query_strings_are_refused_every_time(flask_app):
    from werkzeug.exceptions import UnprocessableEntity

    parser, schema = QueryMemoParser(), CountingQuery()
    CountingQuery.loads = 0
    for _ in range(2):
        with pytest.raises(UnprocessableEntity):
            parse(parser, schema, flask_app, "page=0")
    assert parser._memo == {}


def test_schemas_with_load_hooks_or_callable_defaults_are_loaded_every_time(flask_app):
    parser = QueryMemoParser()
    built = BuildsObjects()
    BuildsObjects.loads = 0
    one = parse(parser, built, flask_app, "page=2")
    two = parse(parser, built, flask_app, "page=2")
    assert one == two == {"built": [2]} and one is not two
    assert BuildsObjects.loads == 2
    tags = ClockDefault()
    first = parse(parser, tags, flask_app, "")
    first["tags"].append("changed")
    assert parse(parser, tags, flask_app, "") == {"tags": []}
    assert parser._memo == {}


def test_the_memo_keeps_only_the_most_recent_query_strings(flask_app):
    parser, schema = QueryMemoParser(size=3), CountingQuery()
    for page in range(1, 6):
        parse(parser, schema, flask_app, f"page={page}")
    assert len(parser._memo) == 3
    CountingQuery.loads = 0
    parse(parser, schema, flask_app, "page=5")  # kept
    parse(parser, schema, flask_app, "page=1")  # dropped: loaded again
    assert CountingQuery.loads == 1


def test_two_schemas_never_share_a_result(flask_app):
    class Other(Schema):
        page = fields.Integer(load_default=7)

    parser = QueryMemoParser()
    assert parse(parser, CountingQuery(), flask_app, "") == {"page": 1}
    assert parse(parser, Other(), flask_app, "") == {"page": 7}


def test_the_api_uses_the_memo_parser():
    from app.lots.views import blp
    from app.platform.blueprint import Blueprint

    assert isinstance(blp, Blueprint)
    assert isinstance(blp.ARGUMENTS_PARSER, QueryMemoParser)
