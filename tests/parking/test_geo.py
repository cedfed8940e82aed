"""Tests for app.parking.geo."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.parking.geo import (
    EARTH_RADIUS_M,
    bounding_box,
    compass_point,
    haversine_m,
    initial_bearing_deg,
    validate_coordinates,
    walking_links,
)

PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)
NEW_YORK = (40.7128, -74.0060)
LOS_ANGELES = (34.0522, -118.2437)

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lngs = st.floats(min_value=-180, max_value=180, allow_nan=False)
# Away from the poles, where longitude (and so bearing) stops being meaningful.
safe_lats = st.floats(min_value=-89, max_value=89, allow_nan=False)


def _destination(
    lat: float, lng: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """Spherical direct problem, used to generate points at a known distance."""
    phi1, lam1 = math.radians(lat), math.radians(lng)
    theta, delta = math.radians(bearing_deg), distance_m / EARTH_RADIUS_M
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * sin_phi2,
    )
    lng2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lng2


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


# --- haversine ---------------------------------------------------------------------------


def test_paris_london() -> None:
    assert haversine_m(*PARIS, *LONDON) == pytest.approx(343_500, rel=0.005)


def test_new_york_los_angeles() -> None:
    assert haversine_m(*NEW_YORK, *LOS_ANGELES) == pytest.approx(3_936_000, rel=0.005)


def test_same_point_is_zero() -> None:
    assert haversine_m(*PARIS, *PARIS) == 0.0


def test_quarter_meridian_and_antipodes() -> None:
    assert haversine_m(0, 0, 90, 0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_M)
    assert haversine_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(90, 0, -90, 0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_antimeridian_is_short_way_round() -> None:
    one_degree = math.radians(1) * EARTH_RADIUS_M
    assert haversine_m(0, 179.5, 0, -179.5) == pytest.approx(one_degree)


@settings(deadline=None)
@given(lat1=lats, lng1=lngs, lat2=lats, lng2=lngs)
def test_haversine_is_symmetric_and_bounded(
    lat1: float, lng1: float, lat2: float, lng2: float
) -> None:
    forward = haversine_m(lat1, lng1, lat2, lng2)
    assert 0.0 <= forward <= math.pi * EARTH_RADIUS_M + 1e-6
    assert forward == pytest.approx(haversine_m(lat2, lng2, lat1, lng1), abs=1e-6)


@settings(deadline=None)
@given(
    lat=safe_lats,
    lng=lngs,
    bearing=st.floats(min_value=0, max_value=360, exclude_max=True),
    distance=st.floats(min_value=0, max_value=19_000_000),
)
def test_haversine_inverts_spherical_destination(
    lat: float, lng: float, bearing: float, distance: float
) -> None:
    lat2, lng2 = _destination(lat, lng, bearing, distance)
    assert haversine_m(lat, lng, lat2, lng2) == pytest.approx(distance, rel=1e-6, abs=1e-3)


# --- bearing and compass -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [((1, 0), 0.0), ((0, 1), 90.0), ((-1, 0), 180.0), ((0, -1), 270.0)],
)
def test_cardinal_bearings_from_origin(target: tuple[float, float], expected: float) -> None:
    assert initial_bearing_deg(0, 0, *target) == pytest.approx(expected)


def test_paris_to_london_heads_north_west() -> None:
    bearing = initial_bearing_deg(*PARIS, *LONDON)
    assert bearing == pytest.approx(330.0, abs=2.0)
    assert compass_point(bearing) == "NW"


def test_bearing_across_antimeridian_points_east() -> None:
    assert initial_bearing_deg(0, 179.5, 0, -179.5) == pytest.approx(90.0)


@settings(deadline=None)
@given(lat1=lats, lng1=lngs, lat2=lats, lng2=lngs)
def test_bearing_range(lat1: float, lng1: float, lat2: float, lng2: float) -> None:
    assert 0.0 <= initial_bearing_deg(lat1, lng1, lat2, lng2) < 360.0


@pytest.mark.parametrize(
    ("bearing", "expected"),
    [
        (0, "N"),
        (22.4, "N"),
        (22.5, "NE"),
        (45, "NE"),
        (90, "E"),
        (135, "SE"),
        (180, "S"),
        (225, "SW"),
        (270, "W"),
        (315, "NW"),
        (337.4, "NW"),
        (337.5, "N"),
        (359.99, "N"),
        (360, "N"),
        (-45, "NW"),
        (720 + 90, "E"),
    ],
)
def test_compass_point(bearing: float, expected: str) -> None:
    assert compass_point(bearing) == expected


@pytest.mark.parametrize("bearing", [math.nan, math.inf, None, "N"])
def test_compass_point_rejects_non_finite(bearing: object) -> None:
    with pytest.raises(ValueError):
        compass_point(bearing)  # type: ignore[arg-type]


@given(bearing=st.floats(min_value=-1e6, max_value=1e6))
def test_compass_point_is_within_22_5_degrees(bearing: float) -> None:
    centres = {"N": 0, "NE": 45, "E": 90, "SE": 135, "S": 180, "SW": 225, "W": 270, "NW": 315}
    point = compass_point(bearing)
    assert _angle_diff(bearing, centres[point]) <= 22.5 + 1e-9


# --- comparison against an ellipsoidal reference -----------------------------------------


@settings(deadline=None)
@given(lat1=lats, lng1=lngs, lat2=lats, lng2=lngs)
def test_distance_matches_wgs84_geodesic(
    lat1: float, lng1: float, lat2: float, lng2: float
) -> None:
    geodesic = pytest.importorskip("geographiclib.geodesic").Geodesic.WGS84
    reference = geodesic.Inverse(lat1, lng1, lat2, lng2)["s12"]
    assume(reference > 1_000)
    # A sphere of mean radius is off by up to ~0.56 % against WGS84 (short north-south lines
    # near the equator, where the meridian radius of curvature is smallest); 0.6 % bounds it.
    assert haversine_m(lat1, lng1, lat2, lng2) == pytest.approx(reference, rel=0.006)


@settings(deadline=None)
@given(lat1=safe_lats, lng1=lngs, lat2=safe_lats, lng2=lngs)
def test_bearing_matches_wgs84_geodesic(lat1: float, lng1: float, lat2: float, lng2: float) -> None:
    geodesic = pytest.importorskip("geographiclib.geodesic").Geodesic.WGS84
    result = geodesic.Inverse(lat1, lng1, lat2, lng2)
    # Very short lines are dominated by rounding and near-antipodal lines have no single
    # shortest path, so the initial azimuth is only comparable in between.
    assume(1_000 < result["s12"] < 15_000_000)
    bearing = initial_bearing_deg(lat1, lng1, lat2, lng2)
    assert _angle_diff(bearing, result["azi1"] % 360.0) <= 1.0


def test_reference_city_pairs_match_wgs84_geodesic() -> None:
    geodesic = pytest.importorskip("geographiclib.geodesic").Geodesic.WGS84
    for start, end in ((PARIS, LONDON), (NEW_YORK, LOS_ANGELES)):
        reference = geodesic.Inverse(*start, *end)
        assert haversine_m(*start, *end) == pytest.approx(reference["s12"], rel=0.005)
        bearing = initial_bearing_deg(*start, *end)
        assert _angle_diff(bearing, reference["azi1"] % 360.0) <= 1.0


# --- links -------------------------------------------------------------------------------


def test_walking_links() -> None:
    assert walking_links(48.8584, 2.2945) == {
        "google": (
            "https://www.google.com/maps/dir/?api=1&destination=48.858400,2.294500"
            "&travelmode=walking"
        ),
        "apple": "https://maps.apple.com/?daddr=48.858400,2.294500&dirflg=w",
        "geo": "geo:48.858400,2.294500",
    }


def test_walking_links_negative_zero_and_rounding() -> None:
    links = walking_links(-0.0, -1e-9)
    assert links["geo"] == "geo:0.000000,0.000000"
    assert walking_links(-33.86881234567, 151.2092999999)["geo"] == "geo:-33.868812,151.209300"


def test_walking_links_rejects_invalid_coordinates() -> None:
    with pytest.raises(ValueError):
        walking_links(91, 0)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lng"), [(0, 0), (90, 180), (-90, -180), (0.0, -0.0), (45.5, -120.25)]
)
def test_validate_coordinates_accepts(lat: float, lng: float) -> None:
    validate_coordinates(lat, lng)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        (90.0001, 0),
        (-90.0001, 0),
        (0, 180.0001),
        (0, -180.0001),
        (math.nan, 0),
        (0, math.nan),
        (math.inf, 0),
        ("48.8", 2.3),
        (None, 0),
        (True, 0),
    ],
)
def test_validate_coordinates_rejects(lat: object, lng: object) -> None:
    with pytest.raises(ValueError):
        validate_coordinates(lat, lng)  # type: ignore[arg-type]


def test_distance_and_bearing_reject_invalid_coordinates() -> None:
    with pytest.raises(ValueError):
        haversine_m(0, 0, 95, 0)
    with pytest.raises(ValueError):
        initial_bearing_deg(0, 200, 0, 0)


# --- bounding box ------------------------------------------------------------------------


def test_bounding_box_near_paris() -> None:
    min_lat, max_lat, min_lng, max_lng = bounding_box(*PARIS, 1.0)
    d_lat = math.degrees(1000 / EARTH_RADIUS_M)
    assert min_lat == pytest.approx(PARIS[0] - d_lat)
    assert max_lat == pytest.approx(PARIS[0] + d_lat)
    # One kilometre spans more degrees of longitude than of latitude away from the equator.
    assert max_lng - PARIS[1] > d_lat
    assert PARIS[1] - min_lng == pytest.approx(max_lng - PARIS[1])


def test_bounding_box_zero_radius_is_the_point() -> None:
    assert bounding_box(10.0, 20.0, 0) == (10.0, 10.0, 20.0, 20.0)


def test_bounding_box_covering_a_pole_spans_all_longitudes() -> None:
    _, max_lat, min_lng, max_lng = bounding_box(89.99, 10.0, 5.0)
    assert max_lat == 90.0
    assert (min_lng, max_lng) == (-180.0, 180.0)
    assert bounding_box(-90, 0, 1)[0] == -90.0


def test_bounding_box_across_antimeridian_spans_all_longitudes() -> None:
    min_lat, max_lat, min_lng, max_lng = bounding_box(0.0, 179.99, 5.0)
    assert (min_lng, max_lng) == (-180.0, 180.0)
    assert min_lat < 0.0 < max_lat


def test_bounding_box_larger_than_earth() -> None:
    assert bounding_box(0, 0, 30_000) == (-90.0, 90.0, -180.0, 180.0)


@pytest.mark.parametrize("radius", [-1, math.nan, math.inf, None])
def test_bounding_box_rejects_invalid_radius(radius: object) -> None:
    with pytest.raises(ValueError):
        bounding_box(0, 0, radius)  # type: ignore[arg-type]


@settings(deadline=None)
@given(lat=lats, lng=lngs, radius_km=st.floats(min_value=0, max_value=25_000))
def test_bounding_box_is_ordered_and_clamped(lat: float, lng: float, radius_km: float) -> None:
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_km)
    assert -90.0 <= min_lat <= lat <= max_lat <= 90.0
    assert -180.0 <= min_lng <= lng <= max_lng <= 180.0


@settings(deadline=None)
@given(
    lat=lats,
    lng=lngs,
    radius_km=st.floats(min_value=0.01, max_value=5_000),
    bearing=st.floats(min_value=0, max_value=360, exclude_max=True),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_bounding_box_contains_every_point_within_radius(
    lat: float, lng: float, radius_km: float, bearing: float, fraction: float
) -> None:
    inside_lat, inside_lng = _destination(lat, lng, bearing, radius_km * 1000 * fraction)
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_km)
    tolerance = 1e-9
    assert min_lat - tolerance <= inside_lat <= max_lat + tolerance
    assert min_lng - tolerance <= inside_lng <= max_lng + tolerance
