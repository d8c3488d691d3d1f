"""The import rule (docs/design.md, "Packages and the import rule"), enforced by walking the
imports with ``ast``:

- the serve side (``pipeline/serve/*``) imports no ``pipeline.imaging``, ``pipeline.plan``,
  ``pipeline.catalog`` and no Pillow at module level, directly or through the modules it
  imports (serve.py starts without the build's weight, and cannot reach the planner);
- nothing but ``serve.py`` imports the web app ``pipeline.serve.app``.

Module-level means what runs at import: statements outside function bodies (class bodies and
``if``/``try`` blocks count). An import inside a function is a deliberate lazy import.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "pipeline"
FORBIDDEN_FOR_SERVE = ("pipeline.imaging", "pipeline.plan", "pipeline.catalog", "PIL")
SERVE_MODULES = sorted(f"pipeline.serve.{p.stem}" for p in (PACKAGE / "serve").glob("*.py") if p.stem != "__init__")

#: Known offenders being fixed by another helper in parallel: (importer, imported) -> reason
#: (the test then xfails naming it). Empty: model/colors.py's lazy Pillow (restructure-tables)
#: and hosting reading serve.index instead of serve.app (restructure-manifest) have landed.
PENDING: dict[tuple[str, str], str] = {}


def module_file(name: str) -> Path | None:
    """The source file of a ``pipeline`` module (package ``__init__`` or module), else None."""
    if not name.startswith("pipeline"):
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_level_imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) of every import that runs when ``path`` is imported. For
    ``from a import b`` both ``a`` and ``a.b`` (when ``b`` is a module) are listed."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, int]] = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue                                   # runs when called, not at import
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, child.lineno))
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    if module_file(sub):
                        found.append((sub, child.lineno))
            visit(child)
    visit(tree)
    return found


def with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_chains(start: str) -> dict[str, list[str]]:
    """Every module imported (transitively, at module level) by importing ``start``, each with
    one chain of importers from ``start``."""
    chains = {start: [start]}
    todo = [start]
    while todo:
        name = todo.pop()
        path = module_file(name)
        if path is None:
            continue
        for imported, _line in module_level_imports(path):
            for module in with_parents(imported):
                if module not in chains:
                    chains[module] = chains[name] + [module]
                    todo.append(module)
    return chains


def is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def offences(chains: dict[str, list[str]]) -> list[list[str]]:
    return [chain for module, chain in sorted(chains.items())
            if any(is_under(module, f) for f in FORBIDDEN_FOR_SERVE)]


def xfail_if_only_pending(problems: list[tuple[str, str, str]]):
    """``problems``: (importer, imported, text). Fail, unless every one is a known pending
    case (then xfail naming the helper fixing it)."""
    if not problems:
        return
    texts = "\n".join(text for _, _, text in problems)
    reasons = {PENDING.get((importer, next(f for f in [*FORBIDDEN_FOR_SERVE, imported] if is_under(imported, f))))
               for importer, imported, _ in problems}
    if None in reasons:
        pytest.fail(texts)
    pytest.xfail("; ".join(sorted(reasons)) + "\n" + texts)


@pytest.mark.parametrize("module", SERVE_MODULES)
def test_serve_modules_import_no_imaging_planner_catalog_or_pillow_directly(module):
    bad = [(imported, line) for imported, line in module_level_imports(module_file(module))
           if any(is_under(imported, f) for f in FORBIDDEN_FOR_SERVE)]
    assert not bad, f"{module} imports {bad} at module level"


@pytest.mark.parametrize("module", SERVE_MODULES)
def test_serve_modules_reach_no_imaging_planner_catalog_or_pillow(module):
    problems = []
    for chain in offences(import_chains(module)):
        problems.append((chain[-2], chain[-1], f"{module} reaches {chain[-1]}: {' -> '.join(chain)}"))
    xfail_if_only_pending(problems)


def test_importing_the_serve_side_loads_none_of_them():
    """The same rule, as Python sees it: after importing every serve module, none of the
    forbidden modules is in ``sys.modules``."""
    code = (f"import sys; import {', '.join(SERVE_MODULES)}; "
            f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL' "
            f"or m.startswith(('pipeline.imaging', 'pipeline.plan', 'pipeline.catalog')))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    if loaded:
        chains = {}
        for module in SERVE_MODULES:
            chains.update({k: v for k, v in import_chains(module).items() if k not in chains})
        problems = {}
        for m in loaded:        # a submodule a forbidden package loads itself counts as the package
            known = next((p for p in with_parents(m) if p in chains and len(chains[p]) > 1), None)
            if known is None:
                problems[m] = ("?", m, f"loaded {m} (not found by the static walk)")
            else:
                problems[known] = (chains[known][-2], known, f"loaded {known}: {' -> '.join(chains[known])}")
        xfail_if_only_pending(list(problems.values()))


def python_files() -> list[Path]:
    """Every Python file of the project outside the tests (which may test the app directly)."""
    files = [p for p in ROOT.glob("*.py")]
    for folder in ("pipeline", "bench"):
        files += (ROOT / folder).rglob("*.py")
    return sorted(p for p in files if "__pycache__" not in p.parts and ".venv" not in p.parts)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def test_nothing_but_serve_py_imports_the_web_app():
    problems = []
    for path in python_files():
        if path == ROOT / "serve.py" or path == PACKAGE / "serve" / "app.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):                     # lazy imports count here too
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(is_under(n, "pipeline.serve.app") for n in names):
                rel = path.relative_to(ROOT)
                problems.append((module_name(path), "pipeline.serve.app",
                                 f"{rel}:{node.lineno} imports pipeline.serve.app"))
    xfail_if_only_pending(problems)


def test_the_walk_finds_known_imports():
    """The checker itself: it sees module-level imports and skips function bodies."""
    render = dict(module_level_imports(module_file("pipeline.imaging.render")))
    assert "PIL" in render and "pipeline.store" in render
    chains = import_chains("pipeline.tasks")
    assert "pipeline.imaging.render" in chains and chains["pipeline.imaging.render"][0] == "pipeline.tasks"
    lazy = [n for n, _ in module_level_imports(module_file("pipeline.tasks")) if n == "pipeline.outputs.report"]
    assert lazy == []                                   # imported inside report_task only
