"""Where the package under mutation comes from: a pinned (or explicitly versioned) PyPI sdist, or a local
source directory.

Sdists are fetched with `pip download --no-binary :all: --no-deps` into a cache, checked against the
pinned sha256 and unpacked once. Only pure-Python packages qualify: the bug is injected into Python
source and the tests run straight from the unpacked tree, with nothing built.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from comem.core.errors import ComemError


@dataclass(frozen=True)
class Pin:
    """A PyPI sdist known to ship its tests, pass them with plain pytest, and contain only Python."""

    name: str
    version: str
    sha256: str


REGISTRY: dict[str, Pin] = {
    pin.name: pin
    for pin in (
        Pin("inflection", "0.5.1", "1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417"),
        Pin("isodate", "0.7.2", "4cd1aa0f43ca76f4a6c6c0292a85f40b35ec2e43e315b59f06e6d32171a953e6"),
        Pin("more-itertools", "11.2.1", "cbf08fd0af284dc69718b9b76a8e6203df624d70209ea511e4219d350c856f63"),
        Pin("semver", "3.1.1", "149b26cabada6f63212f97e94505d21578cb1d280cf714827f328d5e70765fea"),
        Pin("tabulate", "0.10.0", "e2cfde8f79420f6deeffdeda9aaec3b6bc5abce947655d17ac662b126e48a60d"),
        Pin("toolz", "1.2.0", "9667a038e9d6ecba37995e26cb2f59ec6420b6ad8dd9677de59db9b956b08490"),
    )
}

_COMPILED = {".c", ".cc", ".cpp", ".cxx", ".h", ".hpp", ".pyx", ".pxd", ".rs", ".f", ".f90", ".go"}
_NOT_SHIPPED = {"docs", "doc", "tests", "test", "benchmarks", "benchmark", "examples", ".git", ".tox", "build"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class SourceTree:
    """An unpacked package source tree, never modified (work happens on copies)."""

    name: str  # PyPI name or directory name
    version: str | None
    root: Path
    sha256: str | None  # of the sdist; None for a local directory
    pythonpath: str | None  # "src" for a src/ layout: the tests import the package from there


def normalize(name: str) -> str:
    """PEP 503 name normalisation (More_Itertools -> more-itertools)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def default_cache() -> Path:
    return Path(platformdirs.user_cache_dir("comem")) / "sdists"


def resolve(package: str, version: str | None = None, cache_dir: Path | None = None) -> SourceTree:
    """A local source directory, or a PyPI sdist: pinned ones by name, any other with an explicit version."""
    path = Path(package).expanduser()
    if path.is_dir():
        root = path.resolve()
        _check_pure_python(root, package)
        return SourceTree(root.name, version, root, None, _pythonpath(root))
    if not _NAME.match(package) or "/" in package:
        raise ComemError(
            f"{package!r} is neither a directory nor a PyPI package name.",
            fix="Pass a local source directory that exists, or a PyPI name such as "
            f"{', '.join(sorted(REGISTRY))}.",
        )
    name = normalize(package)
    pin = REGISTRY.get(name)
    if version is None and pin is None:
        raise ComemError(
            f"Unknown package {package!r}: it is not one of the pinned packages ({', '.join(sorted(REGISTRY))}).",
            fix="Use a pinned package, pass --version X to fetch an unpinned sdist from PyPI, "
            "or pass a local source directory.",
        )
    version = version or pin.version  # type: ignore[union-attr]
    expected = pin.sha256 if pin is not None and pin.version == version else None
    cache = (cache_dir or default_cache()) / f"{name}-{version}"
    archive = _fetch(name, version, cache, expected)
    digest = _sha256(archive)
    root = _unpack(archive, cache / "src")
    _check_pure_python(root, f"{name} {version}")
    return SourceTree(name, version, root, digest, _pythonpath(root))


# --------------------------------------------------------------------------- helpers


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _archives(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.name.endswith((".tar.gz", ".tgz", ".zip", ".tar.bz2")))


def _fetch(name: str, version: str, cache: Path, expected: str | None) -> Path:
    """The sdist in the cache, downloaded with pip if absent; its hash checked against the pin."""
    archives = _archives(cache)
    if not archives:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                   "--disable-pip-version-check", "--dest", tmp, f"{name}=={version}"]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except subprocess.TimeoutExpired:
                raise ComemError(f"Downloading {name}=={version} from PyPI timed out.",
                                 fix="Check the network connection to PyPI and retry.") from None
            downloaded = _archives(Path(tmp))
            if proc.returncode != 0 or not downloaded:
                last = (proc.stderr.strip().splitlines() or ["pip printed nothing"])[-1]
                raise ComemError(
                    f"Could not download the sdist of {name}=={version}: {last}",
                    fix="Check the package name and version on PyPI (and that PyPI is reachable), "
                    "or pass a local source directory.",
                )
            shutil.move(str(downloaded[0]), cache / downloaded[0].name)
        archives = _archives(cache)
    archive = archives[0]
    if expected is not None and _sha256(archive) != expected:
        archive.unlink()
        raise ComemError(
            f"The sdist of {name}=={version} does not match its pinned sha256 (it was deleted from the cache).",
            fix="Retry the download; if it still differs, the file on PyPI changed: check it before pinning anew.",
        )
    return archive


def _unpack(archive: Path, dest: Path) -> Path:
    """Unpack once into dest (atomically: into a temporary sibling, then renamed) and return the sdist's
    top-level directory."""
    if not dest.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".unpack-"))
        try:
            if archive.suffix == ".zip":
                with zipfile.ZipFile(archive) as zf:
                    unsafe = [m for m in zf.namelist() if m.startswith("/") or ".." in Path(m).parts]
                    if unsafe:
                        raise ComemError(f"{archive} holds an unsafe path {unsafe[0]!r}.",
                                         fix="Use a well-formed sdist.")
                    zf.extractall(tmp)
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(tmp, filter="data")
            tmp.rename(dest)
        except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
            raise ComemError(f"Could not unpack {archive}: {exc}.",
                             fix="Delete the file from the cache and retry the download.") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    entries = [p for p in dest.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def _check_pure_python(root: Path, label: str) -> None:
    compiled = sorted(
        p for p in root.rglob("*")
        if p.suffix in _COMPILED and not _NOT_SHIPPED.intersection(p.relative_to(root).parts[:-1])
    )
    if compiled:
        raise ComemError(
            f"{label} is not pure Python: it ships compiled-language sources ({compiled[0].relative_to(root)}).",
            fix="Pick a pure-Python package: tasks run its tests straight from the source tree, unbuilt.",
        )
    if not any(root.rglob("*.py")):
        raise ComemError(f"{label} holds no Python files ({root}).", fix="Pass the root of a Python source tree.")


def _pythonpath(root: Path) -> str | None:
    src = root / "src"
    if src.is_dir() and any(p.suffix == ".py" or (p / "__init__.py").is_file() for p in src.iterdir()):
        return "src"
    return None
