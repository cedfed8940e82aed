"""The lock files install exactly what requirements*.txt pin, with hashes for every package: a
change to a requirements file without ``make lock`` fails here (e.g. after a merge)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def direct_pins(path: Path) -> dict[str, str]:
    """``name == version`` of every requirement in ``path`` and the files it includes (``-r``)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(direct_pins(path.parent / line[3:].strip()))
        elif line:
            match = PIN.match(line)
            assert match, f"{path.name}: not pinned with ==: {line!r}"
            pins[_name(match.group(1))] = match.group(3)
    return pins


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """``name -> (version, number of hashes)`` for every package in a lock file."""
    packages: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = _name(match.group(1))
            packages[current] = (match.group(3), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = packages[current]
            packages[current] = (version, hashes + 1)
    return packages


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_the_lock_pins_every_requirement_with_hashes(requirements, lock):
    pins = direct_pins(ROOT / requirements)
    packages = locked(ROOT / lock)
    stale = {
        name: (version, packages.get(name, ("missing", 0))[0])
        for name, version in pins.items()
        if packages.get(name, ("", 0))[0] != version
    }
    assert not stale, f"{requirements} and {lock} differ (run `make lock`): {stale}"
    unhashed = [name for name, (_, hashes) in packages.items() if hashes == 0]
    assert not unhashed, f"{lock}: packages without hashes: {unhashed}"
    assert len(packages) > len(pins)  # transitive packages are pinned too


def test_the_dev_lock_installs_the_runtime_lock_unchanged():
    runtime = locked(ROOT / "requirements.lock")
    dev = locked(ROOT / "requirements-dev.lock")
    assert {name: dev.get(name, ("missing", 0))[0] for name in runtime} == {
        name: version for name, (version, _) in runtime.items()
    }
