"""The import direction of ARCHITECTURE.md, enforced.

Every ``mtl`` subpackage sits on a layer; a module may import from its own subpackage and
from lower layers only. The app (``app.py``, ``pages/``) sits above the whole library, and
the library never imports the app or Streamlit. A new subpackage must be placed on a layer
here (and in ARCHITECTURE.md) before it can be imported by anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Lowest first. Keep in step with the table in ARCHITECTURE.md.
LAYERS: list[set[str]] = [
    {"mtl.errors", "mtl.tasks", "mtl.finding"},
    {"mtl.data", "mtl.metrics", "mtl.jobs"},
    {"mtl.models"},
    {"mtl.weighting"},
    {"mtl.train"},
    {"mtl.setup", "mtl.backends"},
    {"mtl.compare", "mtl.recommend", "mtl.finetune"},
    {"mtl.tradeoff"},
    {"mtl.report"},
    {"mtl.plots"},
    {"mtl.playground"},
    {"mtl.lessons"},
    {"mtl.store", "mtl.export"},
    {"mtl.report_html"},
    {"mtl.tracking"},
    {"mtl.cli"},
    {"mtl.__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
FORBIDDEN_IN_LIBRARY = ("streamlit", "pages", "app")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                # ``from . import x`` may name a submodule x: count it as imported too.
                found.update(f"{target}.{alias.name}" for alias in node.names if not node.module)
                found.add(target)
            else:
                found.add(node.module or "")
    return found


def _subpackage(name: str) -> str:
    """``mtl.train.trainer`` -> ``mtl.train``; ``mtl.cli`` -> ``mtl.cli``."""
    return ".".join(name.split(".")[:2])


LIBRARY = sorted((ROOT / "mtl").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_imports_only_downwards(path):
    here = _subpackage(_module_name(path))
    if here == "mtl":  # the package's own __init__: re-exports only what sits below it
        return
    assert here in RANK, f"{here} is on no layer: add it to LAYERS here and to ARCHITECTURE.md"
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_IN_LIBRARY, f"{path.name} imports {name}: the library never imports the app"
        if top != "mtl" or name == "mtl":
            continue
        there = _subpackage(name)
        if there == here:
            continue
        assert there in RANK, f"{there} (imported by {here}) is on no layer"
        assert RANK[there] < RANK[here], (
            f"{_module_name(path)} imports {name}: {there} is not below {here} in ARCHITECTURE.md's layers")


def test_every_layer_names_something_that_exists():
    existing = {_subpackage(_module_name(p)) for p in LIBRARY}
    assert RANK.keys() <= existing, f"stale layer entries: {sorted(RANK.keys() - existing)}"


def test_pages_reach_the_library_through_its_public_names_only():
    """Pages import ``mtl`` packages, never a private ``_module`` inside them."""
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for name in _imports(path):
            if name.startswith("mtl."):
                assert not any(part.startswith("_") for part in name.split(".")), f"{path.name} imports {name}"
