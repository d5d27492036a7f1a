"""Finding the package: local dirs, cached sdists checked against their pins, safe unpacking."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.tasks.synth.package import REGISTRY, normalize, resolve
from tests.tasks.synth.helpers import calc_files


def make_sdist(path: Path, top: str, files: dict[str, str], extra: tuple[str, bytes] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        members = {f"{top}/{rel}": text.encode() for rel, text in files.items()}
        if extra:
            members[extra[0]] = extra[1]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_local_directory(calc_package: Path) -> None:
    tree = resolve(str(calc_package))
    assert (tree.name, tree.version, tree.root, tree.sha256, tree.pythonpath) == (
        "calc", None, calc_package, None, "src")


def test_unpinned_version_comes_from_the_cache_and_is_unpacked(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_sdist(cache / "calc-9.9" / "calc-9.9.tar.gz", "calc-9.9", calc_files())
    tree = resolve("Calc", "9.9", cache_dir=cache)
    assert tree.name == "calc" and tree.version == "9.9" and len(tree.sha256 or "") == 64
    assert (tree.root / "src/calc/__init__.py").read_text() == calc_files()["src/calc/__init__.py"]
    assert resolve("calc", "9.9", cache_dir=cache).root == tree.root  # unpacked once, reused


def test_pinned_sdist_with_a_wrong_hash_is_refused_and_dropped(tmp_path: Path) -> None:
    pin = REGISTRY["inflection"]
    archive = make_sdist(tmp_path / "inflection-0.5.1" / "inflection-0.5.1.tar.gz", "inflection-0.5.1",
                         {"inflection.py": "x = 1\n"})
    assert pin.version == "0.5.1"
    with pytest.raises(ComemError, match="does not match its pinned sha256"):
        resolve("inflection", cache_dir=tmp_path)
    assert not archive.exists()


def test_unsafe_archive_is_refused(tmp_path: Path) -> None:
    make_sdist(tmp_path / "evil-1.0" / "evil-1.0.tar.gz", "evil-1.0", {"m.py": "x = 1\n"},
               extra=("../escaped.py", b"x = 2\n"))
    with pytest.raises(ComemError, match="Could not unpack"):
        resolve("evil", "1.0", cache_dir=tmp_path)
    assert not (tmp_path / "evil-1.0" / "escaped.py").exists() and not (tmp_path / "escaped.py").exists()


def test_compiled_sources_are_refused_but_test_fixtures_are_fine(tmp_path: Path) -> None:
    ok = tmp_path / "ok"
    (ok / "tests" / "data").mkdir(parents=True)
    (ok / "m.py").write_text("x = 1\n")
    (ok / "tests" / "data" / "sample.c").write_text("int x;\n")
    assert resolve(str(ok)).root == ok
    (ok / "fast.pyx").write_text("cdef int x\n")
    with pytest.raises(ComemError, match=r"not pure Python.*fast\.pyx"):
        resolve(str(ok))


def test_names_are_normalised_and_pins_are_complete() -> None:
    assert normalize("More_Itertools") == "more-itertools" == normalize("more.itertools")
    assert all(len(pin.sha256) == 64 and name == normalize(name) for name, pin in REGISTRY.items())
    with pytest.raises(ComemError, match="Unknown package") as info:
        resolve("left-pad")
    assert "--version" in info.value.fix
