"""The import contracts of `make lint` (pyproject.toml, ``[tool.importlinter]``) name modules and
packages one by one: these checks fail when a new module or dependency is not in their lists, so
a contract cannot go quietly blind to it."""

from __future__ import annotations

import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def contract(contract_id: str) -> dict[str, object]:
    [found] = [c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["id"] == contract_id]
    return found


def children(package: str) -> set[str]:
    """The modules and packages directly inside ``package`` (a folder of the repository)."""
    folder = ROOT / package.replace(".", "/")
    found = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    found |= {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
    return {f"{package}.{name}" for name in found}


def dependency_import_names() -> set[str]:
    """The top-level import names of every runtime dependency in pyproject.toml."""
    wanted = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    names = set()
    for module, distributions in packages_distributions().items():
        if any(canonicalize_name(d) in wanted for d in distributions) and module.isidentifier():
            names.add(module)
    return {name for name in names if not name.startswith("_")}


def test_the_pure_domain_contract_forbids_every_other_part_of_pacer() -> None:
    forbidden = set(contract("pure-domain")["forbidden_modules"])  # type: ignore[arg-type]
    assert children("shared") - {"shared.domain"} <= forbidden
    assert "services" in forbidden


def test_the_pure_domain_contract_forbids_every_third_party_dependency() -> None:
    forbidden = set(contract("pure-domain")["forbidden_modules"])  # type: ignore[arg-type]
    missing = dependency_import_names() - forbidden
    assert not missing, f"add to the pure-domain contract: {sorted(missing)}"


def test_every_service_is_in_the_independence_contract() -> None:
    listed = set(contract("independent-services")["modules"])  # type: ignore[arg-type]
    assert listed == children("services")


def test_only_shared_store_is_left_out_of_the_redis_contract() -> None:
    sources = set(contract("store-owns-redis")["source_modules"])  # type: ignore[arg-type]
    assert sources == (children("shared") - {"shared.store"}) | {"services"}
