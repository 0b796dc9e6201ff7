"""What a logged model needs to load elsewhere: pinned pip requirements and the package's source.

The pins come from the pickle itself: the modules its GLOBAL / STACK_GLOBAL opcodes name (plus the
module-level imports of the automl_hyper modules among them, which unpickling imports), mapped to
the installed distributions that provide them. automl-hyper is not on PyPI, so its source ships
with the model as ``code_paths`` instead of a requirement.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import pickletools
import shutil
from pathlib import Path
from typing import Any

import automl_hyper

# Always needed to load the pyfunc wrapper, whatever the serving object references.
BASE_DISTRIBUTIONS = ("mlflow", "cloudpickle", "numpy", "pandas")


def referenced_modules(payload: bytes) -> set[str]:
    """Top-level packages a pickle needs: its GLOBAL / STACK_GLOBAL modules, plus whatever the
    automl_hyper modules among them import at module level (they are imported to unpickle)."""
    modules: set[str] = set()
    # STACK_GLOBAL takes module and name from the stack, where repeated strings arrive through
    # the memo: follow memo writes and reads to know which strings were pushed last.
    memo: dict[int, Any] = {}
    pushed: list[Any] = []
    for op, arg, _ in pickletools.genops(payload):
        name = op.name
        if name in ("FRAME", "PROTO"):
            continue  # framing only, no value
        if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            pushed.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = pushed[-1] if pushed else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(arg))
        elif name == "GLOBAL":
            modules.add(str(arg).split(" ")[0])
        elif name == "STACK_GLOBAL" and len(pushed) >= 2 and isinstance(pushed[-2], str):
            modules.add(pushed[-2])
        else:
            pushed.append(None)  # any other value: not a string we could need
    seen: set[str] = set()
    for module in [m for m in modules if m.split(".")[0] == "automl_hyper"]:
        _own_module_imports(module, seen, modules)
    return {m.split(".")[0] for m in modules}


def _own_module_imports(module: str, seen: set[str], found: set[str]) -> None:
    """Add the module-level imports of an automl_hyper module (and its parents), recursively."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in seen:
            continue
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text())
        # Module level only: imports inside functions are lazy and stay out of the pin list.
        for node in ast.walk(
            ast.Module(
                body=[
                    n
                    for n in tree.body
                    if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                ],
                type_ignores=[],
            )
        ):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                found.add(target)
                if target.split(".")[0] == "automl_hyper":
                    _own_module_imports(target, seen, found)


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()  # scans every installed distribution


def pinned_requirements(modules: set[str]) -> list[str]:
    """``dist==version`` for the installed distributions providing ``modules`` (+ the base set)."""
    providers = _packages_distributions()
    dists = set(BASE_DISTRIBUTIONS)
    for module in modules:
        if module in ("automl_hyper", "builtins", "copyreg", "collections", "__main__"):
            continue  # automl-hyper ships as code_paths; the rest is the standard library
        dists.update(providers.get(module, []))
    reqs = []
    for dist in sorted(dists, key=str.lower):
        try:
            # Drop a local label (torch 2.13.0+cpu): PyPI has no such file, and ==2.13.0 still
            # matches the installed 2.13.0+cpu.
            version = importlib.metadata.version(dist).split("+")[0]
            reqs.append(f"{dist}=={version}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return reqs


def package_source(into: Path) -> Path:
    """A copy of the automl_hyper package (with its integrations) to ship as ``code_paths``."""
    import automl_hyper.integrations as integrations

    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pt", "*.safetensors")
    target = into / "automl_hyper"
    shutil.copytree(Path(automl_hyper.__file__).parent, target, ignore=skip)
    integ = Path(integrations.__file__).parent
    if not (target / "integrations").exists():  # editable install: integrations/ lives apart
        shutil.copytree(integ, target / "integrations", ignore=skip)
    return target
