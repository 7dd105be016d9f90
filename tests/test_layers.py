"""The house rule of docs/architecture.md: packages import downward only, in the order of its layers table, and
only defs/ (and definitions.py) imports dagster."""

import ast
from pathlib import Path

import genai_platform

PACKAGE = Path(genai_platform.__file__).resolve().parent
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
# top to bottom; a module may import its own layer and the layers below it
LAYERS = ["cli", "definitions", "defs", "steps", "families", "modalities", "reporting", "evaluation", "verdicts", "store", "training", "models", "metrics",
          "marking", "datasets", "notify", "fingerprints", "files", "errors", "records", "data"]


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


def test_the_architecture_document_lists_the_layers_in_this_order():
    """The layers table of docs/architecture.md names every layer, top to bottom, as LAYERS does."""
    table = [line for line in ARCHITECTURE.read_text("utf-8").split("## Layers")[1].split("## ")[0].splitlines()
             if line.startswith("| `")]
    named = [name.strip("`").removesuffix(".py").rstrip("/") for row in table
             for name in row.split("|")[1].replace(",", " ").split()]
    assert named == LAYERS, named
