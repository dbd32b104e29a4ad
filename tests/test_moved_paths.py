"""Every public name of Collective 0.1 keeps working from its 0.1 import path for one release.

tests/public_names_0_1.json lists, for each module of the 0.1 tree, its ``__all__`` (or its
public classes, functions and constants). A module that moved is a deprecated alias of its new
home (:mod:`collective._moved`): importing it warns and yields the same objects.
"""

from __future__ import annotations

import importlib
import json
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


def test_a_moved_module_warns_and_is_its_new_home() -> None:
    import sys

    import collective.chain.http

    sys.modules.pop("collective.rpc", None)
    with pytest.warns(
        DeprecationWarning, match=r"collective\.rpc moved to collective\.chain\.http"
    ):
        old = importlib.import_module("collective.rpc")
    assert old is collective.chain.http
    assert old.JsonRpc is collective.chain.http.JsonRpc
