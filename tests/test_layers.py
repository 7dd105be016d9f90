"""The house rule of ARCHITECTURE.md: packages import downward only, and only defs/ imports dagster."""

import ast
from pathlib import Path

import genai_platform

PACKAGE = Path(genai_platform.__file__).resolve().parent
# top to bottom; a module may import its own layer and the layers below it
LAYERS = ["cli", "definitions", "defs", "families", "evaluation", "reporting", "store", "training", "models", "metrics",
          "datasets", "notify", "fingerprints", "files", "errors", "records", "data"]


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_packages_import_downward_only_and_only_defs_imports_dagster():
    upward, dagster = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        own = relative.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        assert own in LAYERS, f"{relative} is in no layer of LAYERS"
        for name in _imports(path):
            if name.split(".")[0] in ("dagster", "dagster_duckdb", "dagster_graphql") and own not in ("defs", "definitions"):
                dagster.append(f"{relative}: {name}")
            if name.startswith("genai_platform.") and LAYERS.index(_layer(name)) < LAYERS.index(own):
                upward.append(f"{relative} imports {name}")
    assert not upward, upward
    assert not dagster, dagster
