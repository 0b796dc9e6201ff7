"""The layout's import rule: core never imports ``automl_hyper.integrations``.

Only the package face (``automl_hyper/__init__.py``, which registers the families with AutoGluon)
and ``automl_hyper/cli/`` (the composition root) may. Read from the source with ``ast``, so an
import hidden inside a function, a relative import or an ``import_module("...")`` string counts
as much as a module-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import automl_hyper

PACKAGE_DIR = Path(automl_hyper.__file__).parent
FORBIDDEN = "automl_hyper.integrations"
# The face, the composition root, and integrations/ itself (it sits inside the package folder
# in a regular install; in an editable one it lives apart, at the repository's top level).
ALLOWED_DIRS = ("cli/", "integrations/")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every absolute module name the source imports, relative imports resolved against
    ``module``; ``from a import b`` counts as ``a`` and ``a.b`` (b may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            names.update(
                arg.value
                for arg in node.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return names


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def imports_integrations(names: set[str]) -> bool:
    return any(n == FORBIDDEN or n.startswith(FORBIDDEN + ".") for n in names)


def test_the_checker_sees_every_form_of_import():
    def hits(source: str, module: str = "automl_hyper.models.inn.estimator") -> bool:
        return imports_integrations(imported_names(source, module, is_package=False))

    assert hits("import automl_hyper.integrations.mlflow")
    assert hits("import automl_hyper.integrations as i")
    assert hits("from automl_hyper.integrations.mlflow import log_family_model")
    assert hits("from automl_hyper import integrations")
    assert hits("def f():\n    from automl_hyper.integrations import optuna")
    assert hits("from ...integrations import mlflow")
    assert hits("from ... import integrations")
    assert hits("from .integrations.tracking import X", module="automl_hyper.compare")
    assert hits("importlib.import_module('automl_hyper.integrations.autogluon')")
    assert not hits("import automl_hyper.models\nfrom automl_hyper import zoo")
    assert not hits("from . import network\nimport mlflow")


def test_core_never_imports_integrations():
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        if relative == "__init__.py" or relative.startswith(ALLOWED_DIRS):
            continue
        names = imported_names(path.read_text(), module_name(path), path.name == "__init__.py")
        if imports_integrations(names):
            offenders.append(relative)
    assert offenders == [], f"core modules importing {FORBIDDEN}: {offenders}"


def test_the_allowed_places_exist():
    # The rule's exceptions name real files, so a move cannot silently widen them.
    assert (PACKAGE_DIR / "__init__.py").is_file()
    assert (PACKAGE_DIR / "cli" / "__init__.py").is_file()
