"""What changed? One answer: every digest the platform keys re-use on, and every Dagster code_version.

A step re-uses an earlier output when that output was recorded with the same fingerprint: the digest of
everything the output depends on.
- training (`training_fingerprint`): the family, its model and training config, the data version, the
  family's code version (`family_code_version`: its config's and model's modules and what they import of
  genai_platform's models/ and training/ and, for a family of another package, of that package, followed
  through imports, plus the training loop) and the model it starts from. Code anywhere else (metrics,
  reports, another family) leaves it.
- sampling (`sample_fingerprint`): the model version, profile, seed, the sampling helpers and the
  modality plug-in's module (`modality_code_version`, followed through imports like a family's).
- the feature classifier (`classifier_fingerprint`): its settings, the data version and its code.
- the evaluation and the metric self-test (`evaluation_fingerprint`): the data, the sample sets' own
  fingerprints, the settings, the whole package's source and the modality plug-in's: any change of code
  scores again.
`package_version` is something else: the release label (package version and git commit) that
metrics_history and the reports carry. Source is read, never imported, so this module sits low in the
house and any module a Python importer can find (a family from another package, in a zip) has a version.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import genai_platform

PACKAGE = Path(genai_platform.__file__).resolve().parent
# what every family's weights depend on besides its own model module: the one training loop
TRAINING_MODULES = ("genai_platform.training.loop", "genai_platform.training.fit", "genai_platform.training.batches",
                    "genai_platform.training.device")
FOLLOWED_PACKAGES = ("genai_platform.models.", "genai_platform.training.")  # imports followed from any family
SAMPLING_SOURCE = ("evaluation/generation.py", "evaluation/profiles.py", "marking")  # what draws samples besides the model
CLASSIFIER_SOURCE = ("models/classifier.py", "training")


def digest(*parts) -> str:
    """16 hex digits identifying `parts` (JSON, dataclasses and other objects by their str)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def source_digest(paths: list[Path], patterns: tuple[str, ...] = ("*.py",)) -> str:
    """A short digest of source files: each file path given, and the `patterns` files under each folder given.

    The path names (relative to the common root) are hashed with the contents, so a moved file counts as
    a change."""
    files = sorted({f for p in map(Path, paths) for f in ([p] if p.is_file() else
                                                          (g for pattern in patterns for g in p.rglob(pattern)))})
    root = Path(os.path.commonpath([str(f.parent) for f in files])) if files else Path()
    hashed = hashlib.sha256()
    for f in files:
        hashed.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return hashed.hexdigest()[:12]


def module_source(name: str) -> str:
    """The source of the module `name`, from its loader (a file, a zip) or, for a module that is loaded but
    has no loader's source (one made at run time), from inspect; a ValueError naming it when there is none."""
    module = sys.modules.get(name)
    try:
        spec = module.__spec__ if module is not None and module.__spec__ is not None else importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    source = None
    if spec is not None and spec.loader is not None and hasattr(spec.loader, "get_source"):
        try:
            source = spec.loader.get_source(name)
        except ImportError:
            source = None
    if source is None and module is not None:
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            source = None
    if source is None:
        raise ValueError(f"module {name!r} has no source to take a code version from (it must be importable "
                         "from a .py file or a zip)")
    return source


def _imported_modules(name: str, source: str, follow: tuple[str, ...]) -> list[str]:
    """The modules `name` imports (absolute and relative) that start with one of `follow`."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = (importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level
                      else node.module)
            candidates = [module] + [f"{module}.{alias.name}" for alias in node.names]  # `from pkg import module`
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found += [c for c in candidates if c and (c.startswith(follow) or f"{c}." in follow) and _exists(c)]
    return found


def _is_package(name: str) -> bool:
    module = sys.modules.get(name)
    if module is not None:
        return hasattr(module, "__path__")
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


def _exists(name: str) -> bool:
    try:
        return name in sys.modules or importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _imports_closure_version(modules: tuple[str, ...], always: tuple[str, ...] = ()) -> str:
    """Digest of `modules` and `always`, and of what they import from genai_platform's models/ and training/
    and, outside genai_platform, from their own top-level package, followed through imports (a package's
    __init__ included)."""
    own = sorted({module.partition(".")[0] + "." for module in modules if not module.startswith("genai_platform.")})
    follow = (*FOLLOWED_PACKAGES, *own)
    sources: dict[str, str] = {}
    pending = [*modules, *always]
    while pending:
        module = pending.pop()
        if module in sources:
            continue
        sources[module] = module_source(module)
        pending += _imported_modules(module, sources[module], follow)
    hashed = hashlib.sha256()
    for module in sorted(sources):
        hashed.update(module.encode() + b"\0" + sources[module].encode())
    return hashed.hexdigest()[:12]


@cache
def family_code_version(*modules: str) -> str:
    """Digest of the source a family's trained weights depend on: `modules` (its config's and its model's,
    and for a family of another package the module that builds it), what they import (as
    _imports_closure_version follows them), and the training loop."""
    return _imports_closure_version(modules, TRAINING_MODULES)


@cache
def modality_code_version(module: str) -> str:
    """Digest of a modality plug-in's module and what it imports of its own package (for the platform's own
    plug-ins, of models/ and training/): how it draws samples and, for a plug-in of another package, how it
    scores them."""
    return _imports_closure_version((module,))


@cache
def sampling_code_version(modality_module: str) -> str:
    """The sampling helpers and the modality plug-in that draws the samples."""
    return digest(source_digest([PACKAGE / path for path in SAMPLING_SOURCE]), modality_code_version(modality_module))


@cache
def classifier_code_version() -> str:
    return source_digest([PACKAGE / path for path in CLASSIFIER_SOURCE])


@cache
def evaluation_code_version(modality_module: str) -> str:
    """Digest of the package's source and the modality plug-in's (which may live in another package): an
    evaluation is re-used only when no code changed at all."""
    return digest(source_digest([PACKAGE], ("*.py", "*.sql")), modality_code_version(modality_module))


def training_fingerprint(family: str, model_config, training_config, data_version: str, code_version: str,
                         lineage: dict | None) -> str:
    return digest(family, model_config, training_config, data_version, code_version, lineage)


def sample_fingerprint(version: str, profile: str, seed: int, modality_module: str, count: int | None,
                       key_fingerprint: str) -> str:
    """A sample set's: the model version, profile, seed, sample count (None: the modality's is fixed), the
    watermark key's fingerprint, the sampling helpers and the modality's plug-in."""
    return digest(version, profile, seed, count, key_fingerprint, sampling_code_version(modality_module))


def classifier_fingerprint(model_config, training_config, data_version: str) -> str:
    return digest("classifier", model_config, training_config, data_version, classifier_code_version())


def evaluation_fingerprint(modality_module: str, *inputs) -> str:
    """An evaluation's or self-test's: `inputs` (data version, sample sets' fingerprints, settings), the
    package's source and the modality's plug-in (which may live in another package)."""
    return digest(*inputs, evaluation_code_version(modality_module))


@cache
def package_version() -> str:
    """Package version plus the git commit (and '-dirty') when run from a checkout."""
    try:
        commit = subprocess.run(["git", "-C", str(PACKAGE.parent), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(PACKAGE.parent), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{genai_platform.__version__}+{commit}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return genai_platform.__version__
