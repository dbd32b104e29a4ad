"""py-evm drift made loud: the installed py-evm is the version the fast VM was written
against, and every upstream function it copies, overrides or bypasses still has the source it
was written against (``collective.node.execution.upstream``). A failure names our override to
re-check against the new upstream code."""

from __future__ import annotations

import functools
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from collective.node.execution import (
    account,
    computation,
    executor,
    interpreter,
    opcodes,
    receipts,
    storage_logic,
    transactions,
    vm,
)
from collective.node.execution.upstream import PINS, PYEVM_VERSION, Pin, drifted, resolve

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_py_evm_is_the_pinned_one() -> None:
    pinned = re.search(r'"py-evm==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned is not None, "pyproject.toml no longer pins py-evm exactly"
    assert pinned.group(1) == PYEVM_VERSION, (
        f"pyproject.toml pins py-evm {pinned.group(1)}, the fast VM was checked against "
        f"{PYEVM_VERSION}: re-check every override in collective.node.execution.upstream"
    )
    assert version("py-evm") == PYEVM_VERSION, (
        f"py-evm {version('py-evm')} is installed, the fast VM was checked against "
        f"{PYEVM_VERSION}: install the pinned version (pip install -e '.[node]')"
    )


def test_no_upstream_function_the_fast_vm_follows_has_changed() -> None:
    problems = drifted(PINS)
    assert not problems, "py-evm drifted:\n" + "\n".join(problems)


def test_every_override_named_exists() -> None:
    for pin in PINS:
        module, _, name = pin.override.partition(":")
        assert resolve(f"collective.node.execution.{module}:{name}") is not None, pin


def test_a_changed_upstream_names_the_override_to_recheck() -> None:
    changed = Pin("eth.db.account:AccountDB.get_storage", "account:NodeAccountDB.get_storage", "0")
    gone = Pin("eth.db.account:AccountDB.no_such_method", "account:NodeAccountDB.get_code", "0")
    first, second = drifted((changed, gone))
    assert "re-check collective.node.execution.account.NodeAccountDB.get_storage" in first
    assert "is gone" in second and "NodeAccountDB.get_code" in second


@pytest.mark.parametrize(
    "cls",
    [
        account.NodeAccountDB,
        computation.NodeStack,
        computation.NodeComputation,
        executor.NodeExecutor,
        vm.NodeVM,
        transactions.NodeTypedTransaction,
    ],
)
def test_every_method_we_override_is_pinned(cls: type) -> None:
    """A new override of a py-evm method cannot go in without its fingerprint."""
    module = cls.__module__.rsplit(".", 1)[1]
    pinned = {pin.override for pin in PINS}
    for name, member in vars(cls).items():
        if not inspect.isfunction(member) and not isinstance(
            member, (classmethod, staticmethod, property, functools.cached_property)
        ):
            continue  # a class attribute: the class's own pin covers it
        overridden = any(name in vars(base) for base in cls.__mro__[1:])
        if (overridden and not name.startswith("__")) or name == "__init__":
            assert f"{module}:{cls.__name__}.{name}" in pinned, (
                f"{cls.__name__}.{name} overrides py-evm: add it to "
                "collective.node.execution.upstream.PINS"
            )


def test_every_module_names_its_upstream() -> None:
    for module in (
        account,
        computation,
        executor,
        interpreter,
        opcodes,
        receipts,
        storage_logic,
        transactions,
        vm,
    ):
        doc = inspect.getdoc(module) or ""
        assert "Mirrors" in doc and "py-evm" in doc, module.__name__
