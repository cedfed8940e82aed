"""The lot list costs what its page costs: spots are counted only for the lots on the page."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event

from tests.factories import LotFactory
from tests.lots.test_lots_api import lot_spots, occupy

POSTCOMPILE = re.compile(r"spots\.lot_id IN \(__\[POSTCOMPILE_(\w+)\]\)")


@contextmanager
def spot_reads(db):
    """Every statement that reads ``spots``, as (SQL before expansion, its parameters)."""
    reads: list[tuple[str, dict]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        compiled = getattr(context, "compiled", None)
        if compiled is not None and re.search(r"\bFROM spots\b", compiled.string):
            reads.append((compiled.string, dict(context.compiled_parameters[0])))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield reads
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def counted_lot_ids(sql: str, parameters: dict) -> set[int] | None:
    """The lot ids a grouped count of spots is restricted to (None: not restricted by id)."""
    match = POSTCOMPILE.search(sql)
    if match is None:
        return None
    # The expanded parameters of ``IN (:lot_ids)`` are ``lot_ids_1``, ``lot_ids_2``, ...
    expanded = re.compile(rf"{match.group(1)}_\d+")
    return {value for key, value in parameters.items() if expanded.fullmatch(key)}


def test_spots_are_counted_only_for_the_lots_on_the_page(client, db, user, auth):
    lots = [LotFactory(name=f"Pagecost {n:02d}", spots=3) for n in range(7)]
    occupy(lot_spots(lots[3])[0])
    headers = auth(user)

    with spot_reads(db) as reads:
        response = client.get("/api/v1/lots?q=pagecost&per_page=3&page=2", headers=headers)

    page = response.get_json()
    assert response.status_code == 200
    assert (page["total"], page["pages"]) == (7, 3)
    assert [item["name"] for item in page["items"]] == ["Pagecost 03", "Pagecost 04", "Pagecost 05"]
    assert [(i["free_spots"], i["total_spots"]) for i in page["items"]] == [(2, 3), (3, 3), (3, 3)]
    assert len(reads) == 1, reads
    assert counted_lot_ids(*reads[0]) == {lot.id for lot in lots[3:6]}


def test_available_filter_probes_each_candidate_lot_and_counts_only_the_page(
    client, db, user, auth
):
    lots = [LotFactory(name=f"Pageprobe {n:02d}", spots=2) for n in range(6)]
    for full in (lots[0], lots[2]):
        for spot in lot_spots(full):
            occupy(spot)
    broken = lot_spots(lots[4])
    broken[0].status = "out_of_service"
    occupy(broken[1])
    headers = auth(user)

    with spot_reads(db) as reads:
        response = client.get(
            "/api/v1/lots?q=pageprobe&available=true&per_page=2&page=1", headers=headers
        )

    page = response.get_json()
    assert (page["total"], page["pages"]) == (3, 2)
    assert [item["name"] for item in page["items"]] == ["Pageprobe 01", "Pageprobe 03"]
    counts = [counted_lot_ids(sql, parameters) for sql, parameters in reads]
    assert {lots[1].id, lots[3].id} in counts
    # Any other read of spots is a probe of one lot (correlated to it), never every spot.
    for (sql, _), ids in zip(reads, counts, strict=True):
        if ids is None:
            assert "spots.lot_id = lots.id" in sql, sql
    last = client.get("/api/v1/lots?q=pageprobe&available=true&per_page=2&page=2", headers=headers)
    assert [item["name"] for item in last.get_json()["items"]] == ["Pageprobe 05"]


def test_an_empty_page_counts_no_spots(client, db, user, auth):
    LotFactory(name="Lonely", spots=1)
    headers = auth(user)

    with spot_reads(db) as reads:
        response = client.get("/api/v1/lots?q=nothing-matches-this", headers=headers)

    assert response.get_json()["items"] == []
    assert all(counted_lot_ids(sql, parameters) is not None for sql, parameters in reads)


def test_near_counts_only_the_lots_on_the_page(client, db, user, auth):
    here = LotFactory(name="Here", latitude=12.9716, longitude=77.5946, spots=2)
    near = LotFactory(name="Near", latitude=12.975, longitude=77.5946, spots=3)
    LotFactory(name="Farther", latitude=12.98, longitude=77.5946, spots=1)
    occupy(lot_spots(near)[0])
    headers = auth(user)

    with spot_reads(db) as reads:
        response = client.get(
            "/api/v1/lots?near=12.9716,77.5946&radius_km=5&per_page=2", headers=headers
        )

    page = response.get_json()
    assert page["total"] == 3
    assert [(i["name"], i["free_spots"], i["total_spots"]) for i in page["items"]] == [
        ("Here", 2, 2),
        ("Near", 2, 3),
    ]
    assert [counted_lot_ids(*read) for read in reads] == [{here.id, near.id}]
