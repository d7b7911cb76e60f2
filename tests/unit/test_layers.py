"""Layers point one way (DESIGN.md §3-§4), checked on the import statements of every module.

generated protobuf code → nothing of ours; the kernel (services/core) → no domain service, no gateway, no CLI;
the gateway → no domain service; a domain service → no other domain service (medical may reuse vision);
nothing below the CLI imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists() and p.name != "core")
ALLOWED_DOMAIN_REUSE = {("medical", "vision")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]


def _domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" and parts[1] in DOMAINS else None


def test_generated_protobuf_code_imports_nothing_of_ours() -> None:
    for path in (ROOT / "polyad").glob("*/v1/*.py"):
        for module in _imports(path):
            top = module.split(".")[0]
            ours = top in {"services", "gateway", "tests"} or module.startswith(("polyad.cli", "polyad.commands"))
            assert not ours, f"{path.relative_to(ROOT)} imports {module}"


def test_the_kernel_knows_no_domain_no_gateway_and_no_cli() -> None:
    for path in _modules(ROOT / "services" / "core"):
        for module in _imports(path):
            assert _domain_of(module) is None, f"{path.relative_to(ROOT)} imports the domain module {module}"
            assert not module.startswith(("gateway", "polyad.cli", "polyad.commands")), f"{path} imports {module}"


def test_the_gateway_never_imports_a_domain_service() -> None:
    for path in _modules(ROOT / "gateway"):
        for module in _imports(path):
            assert _domain_of(module) is None, f"{path.relative_to(ROOT)} imports {module}: forward bytes instead"
            assert not module.startswith(("polyad.cli", "polyad.commands")), f"{path} imports {module}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domain_service_imports_no_other_domain_and_not_the_cli(domain: str) -> None:
    for path in _modules(ROOT / "services" / domain):
        for module in _imports(path):
            other = _domain_of(module)
            assert other in (None, domain) or (domain, other) in ALLOWED_DOMAIN_REUSE, f"{path} imports {module}"
            assert not module.startswith(("gateway", "polyad.cli", "polyad.commands")), f"{path} imports {module}"
