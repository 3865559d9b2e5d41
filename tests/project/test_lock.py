"""The lock files agree with pyproject.toml (refresh them with `make lock`): every runtime and [test] requirement
is pinned, with hashes, at a version that satisfies it; the lock holds exactly the packages those requirements
need, nothing stale; the runtime lock is the runtime part of the test lock; and this environment runs what is
locked (so `make test` really installed from the lock)."""

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

RUN_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"


@dataclass(frozen=True)
class Pin:
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies_here(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def read_lock(path: Path) -> dict[str, Pin]:
    """`name==version [; marker] \\` lines, each followed by its `--hash=sha256:…` lines."""
    pins: dict[str, Pin] = {}
    current = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line.startswith((" ", "\t")):
            requirement = Requirement(stripped.rstrip("\\").strip())
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {stripped} is not pinned with =="
            current = canonicalize_name(requirement.name)
            assert current not in pins, f"{path.name} pins {current} twice"
            pins[current] = Pin(Version(specifier.version), requirement.marker, ())
        elif stripped.startswith("--hash="):
            pin = pins[current]
            pins[current] = Pin(pin.version, pin.marker, (*pin.hashes, stripped.removeprefix("--hash=").rstrip(" \\")))
    return pins


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


RUNTIME = [Requirement(text) for text in project()["dependencies"]]
TEST = [Requirement(text) for text in project()["optional-dependencies"]["test"]]


PLATFORMS = [{"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
             {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
             {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}]
PYTHONS = ["3.11", "3.12", "3.13", "3.14"]  # requires-python >= 3.11
# Every environment the universal lock is for: each platform with each supported Python (CPython).
ENVIRONMENTS = [{**platform, "python_version": version, "python_full_version": f"{version}.0",
                 "implementation_name": "cpython", "platform_python_implementation": "CPython"}
                for platform in PLATFORMS for version in PYTHONS]


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool | None:
    """Whether a dependency is needed: False when no extra asked for switches it on, or no supported platform
    and Python needs it; True when needed here; None when needed only elsewhere (a Windows-only package)."""
    if requirement.marker is None:
        return True
    wanted = [{"extra": extra} for extra in extras or {""}]
    if not any(requirement.marker.evaluate({**environment, **extra})
               for environment in ENVIRONMENTS for extra in wanted):
        return False
    return True if any(requirement.marker.evaluate(extra) for extra in wanted) else None


@cache
def _requires(name: str) -> tuple[str, ...]:
    return tuple(metadata.distribution(name).requires or ())


def needed(requirements: list[Requirement]) -> set[str]:
    """Every package these requirements need, on any platform, read from the installed packages' metadata."""
    names: set[str] = set()
    pending = [(requirement, True) for requirement in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, installed_here = pending.pop()
        name = canonicalize_name(requirement.name)
        names.add(name)
        key = (name, frozenset(requirement.extras))
        if key in seen or not installed_here:
            continue
        seen.add(key)
        for text in _requires(name):
            child = Requirement(text)
            applies = _applies(child, frozenset(requirement.extras))
            if applies is False:
                continue
            pending.append((child, applies is True))
    return names


@pytest.fixture(scope="module")
def run_lock() -> dict[str, Pin]:
    return read_lock(RUN_LOCK)


@pytest.fixture(scope="module")
def test_lock() -> dict[str, Pin]:
    return read_lock(TEST_LOCK)


@pytest.mark.parametrize(("lock_name", "requirements"), [("run", RUNTIME), ("test", RUNTIME + TEST)])
def test_every_requirement_is_pinned_at_a_version_that_satisfies_it(run_lock, test_lock, lock_name, requirements):
    lock = run_lock if lock_name == "run" else test_lock
    for requirement in requirements:
        pin = lock.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in the {lock_name} lock: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"the {lock_name} lock pins {requirement.name}=={pin.version}, outside {requirement}: run `make lock`")


@pytest.mark.parametrize(("lock_name", "requirements"), [("run", RUNTIME), ("test", RUNTIME + TEST)])
def test_the_lock_holds_exactly_what_the_requirements_need(run_lock, test_lock, lock_name, requirements):
    lock = run_lock if lock_name == "run" else test_lock
    wanted = needed(requirements)
    assert sorted(set(lock) - wanted) == [], f"stale packages in the {lock_name} lock: run `make lock`"
    assert sorted(wanted - set(lock)) == [], f"packages missing from the {lock_name} lock: run `make lock`"


def test_every_pin_has_sha256_hashes(test_lock, run_lock):
    for pins in (test_lock, run_lock):
        for name, pin in pins.items():
            assert pin.hashes and all(h.startswith("sha256:") and len(h) == 71 for h in pin.hashes), name


def test_the_runtime_lock_is_the_runtime_part_of_the_test_lock(run_lock, test_lock):
    assert {name: pin.version for name, pin in run_lock.items()} == {
        name: test_lock[name].version for name in run_lock}


def test_this_environment_runs_the_locked_versions(test_lock):
    for name, pin in test_lock.items():
        if pin.applies_here():
            assert Version(metadata.version(name)) == pin.version, f"{name}: reinstall with `make test`"


def test_nothing_in_the_lock_is_a_gpu_or_platform_specific_build(test_lock):
    assert not {"torch", "torchvision", "jax", "jaxlib"} & set(test_lock)
    assert not [name for name in test_lock if name.startswith(("nvidia-", "cuda-"))]
