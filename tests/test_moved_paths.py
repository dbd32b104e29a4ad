"""Every public name of Collective 0.1 keeps working from its 0.1 import path for one release.

tests/public_names_0_1.json lists, for each module of the 0.1 tree, its ``__all__`` (or its
public classes, functions and constants). A module that moved is a deprecated alias of its new
home (:mod:`collective._moved`): importing it warns and yields the same objects.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import warnings
from pathlib import Path

import pytest

OLD = json.loads((Path(__file__).parent / "public_names_0_1.json").read_text())


@pytest.mark.parametrize("module", sorted(OLD))
def test_every_0_1_name_still_imports_from_its_old_path(module: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = importlib.import_module(module)
        missing = [name for name in OLD[module] if not hasattr(loaded, name)]
    assert not missing, f"{module} lost {missing}"


MOVED = {
    "collective.addresses": "collective.chain.addresses",
    "collective.anvil": "collective.testing.anvil",
    "collective.artifacts": "collective.build.artifacts",
    "collective.codec": "collective.chain.codec",
    "collective.compiler": "collective.build.compiler",
    "collective.consent_state": "collective.ledger.consent_state",
    "collective.jsonints": "collective.chain.jsonints",
    "collective.revert": "collective.chain.revert",
    "collective.rpc": "collective.chain.http",
    "collective.signing": "collective.ledger.signing",
    "collective.vocab": "collective.ledger.vocab",
    "collective.node.keccak": "collective.node.execution.keccak",
    "collective.node.params": "collective.node.rpc.params",
    "collective.node.store": "collective.node.storage",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_a_moved_module_warns_and_is_its_new_home(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{re.escape(old)} moved to {re.escape(new)}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
