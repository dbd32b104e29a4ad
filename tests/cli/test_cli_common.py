"""``collective.cli.common`` (0.1) is a deprecated re-export of the CLI's split modules."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_the_old_common_module_warns_and_re_exports_the_same_objects() -> None:
    from collective.cli import connect, options, output, params

    sys.modules.pop("collective.cli.common", None)
    with pytest.warns(DeprecationWarning, match=r"collective\.cli\.common is split by concern"):
        common = importlib.import_module("collective.cli.common")
    assert common.CliState is options.CliState and common.F is options.F
    assert common.make_client is common.open_client is connect.open_client
    assert common.when is output.when and common.EXPIRY is params.EXPIRY
    assert all(hasattr(common, name) for name in common.__all__)
