"""Spherical-earth geometry for finding spots and guiding people back to their car."""

from __future__ import annotations

import math

# IUGG mean earth radius; worst-case error against WGS84 is about 0.56 % (short N-S lines at the
# equator), which is far below what matters for walking guidance.
EARTH_RADIUS_M = 6_371_008.8

_COMPASS_POINTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def validate_coordinates(lat: float, lng: float) -> None:
    """Raise ValueError unless lat is in [-90, 90] and lng in [-180, 180]."""
    for name, value, limit in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        # NaN fails every comparison, so a plain range check would let it through.
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise ValueError(f"{name} must be within [-{limit:g}, {limit:g}], got {value!r}")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points given in degrees."""
    validate_coordinates(lat1, lon1)
    validate_coordinates(lat2, lon2)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # Rounding can push h a hair above 1 for antipodal points, which asin would reject.
    h = min(1.0, max(0.0, h))
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def initial_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the initial great-circle bearing from point 1 to point 2, in [0, 360) from north."""
    validate_coordinates(lat1, lon1)
    validate_coordinates(lat2, lon2)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_lambda = math.radians(lon2 - lon1)
    y = math.sin(d_lambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(d_lambda)
    bearing = math.degrees(math.atan2(y, x)) % 360.0
    # A tiny negative angle modulo 360 rounds to exactly 360.0, which is outside [0, 360).
    return 0.0 if bearing >= 360.0 else bearing


def compass_point(bearing_deg: float) -> str:
    """Return the nearest of the eight compass points (N, NE, ..., NW) for a bearing in degrees."""
    if isinstance(bearing_deg, bool) or not isinstance(bearing_deg, (int, float)):
        raise ValueError(f"bearing_deg must be a number, got {bearing_deg!r}")
    if not math.isfinite(bearing_deg):
        raise ValueError(f"bearing_deg must be finite, got {bearing_deg!r}")
    # Each point owns a 45 degree sector centred on it; boundaries go to the clockwise neighbour.
    index = math.floor((bearing_deg % 360.0 + 22.5) / 45.0) % len(_COMPASS_POINTS)
    return _COMPASS_POINTS[index]


def _format_coordinate(value: float) -> str:
    # Rounding first and adding 0.0 turns -0.0 (and values like -1e-9) into "0.000000".
    return f"{round(value, 6) + 0.0:.6f}"


def walking_links(lat: float, lng: float) -> dict[str, str]:
    """Return walking-directions deep links (google, apple, geo URI) to the given point."""
    validate_coordinates(lat, lng)
    point = f"{_format_coordinate(lat)},{_format_coordinate(lng)}"
    return {
        "google": (
            f"https://www.google.com/maps/dir/?api=1&destination={point}&travelmode=walking"
        ),
        "apple": f"https://maps.apple.com/?daddr={point}&dirflg=w",
        "geo": f"geo:{point}",
    }


def bounding_box(lat: float, lng: float, radius_km: float) -> tuple[float, float, float, float]:
    """Return (min_lat, max_lat, min_lng, max_lng) enclosing every point within radius_km."""
    validate_coordinates(lat, lng)
    if isinstance(radius_km, bool) or not isinstance(radius_km, (int, float)):
        raise ValueError(f"radius_km must be a number, got {radius_km!r}")
    if not math.isfinite(radius_km) or radius_km < 0:
        raise ValueError(f"radius_km must be finite and >= 0, got {radius_km!r}")

    angular = radius_km * 1000.0 / EARTH_RADIUS_M
    if angular >= math.pi:
        return (-90.0, 90.0, -180.0, 180.0)

    d_lat = math.degrees(angular)
    min_lat = lat - d_lat
    max_lat = lat + d_lat
    if min_lat <= -90.0 or max_lat >= 90.0:
        # The circle contains a pole, so it spans every longitude.
        return (max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)

    # Widest longitude extent of a spherical cap (it occurs north/south of the centre, not at it).
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return (min_lat, max_lat, -180.0, 180.0)
    d_lng = math.degrees(math.asin(ratio))
    min_lng = lng - d_lng
    max_lng = lng + d_lng
    if min_lng < -180.0 or max_lng > 180.0:
        # A single min/max range cannot express a wrap across the antimeridian; taking every
        # longitude keeps the prefilter correct at the cost of scanning a wider band.
        return (min_lat, max_lat, -180.0, 180.0)
    return (min_lat, max_lat, min_lng, max_lng)
