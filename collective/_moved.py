"""Deprecated import paths: a module that moved keeps working from its old name for one
release, warning once where it is imported from.

Usage, as the whole body of the old module::

    from collective._moved import moved
    moved(__name__, "collective.chain.http")
"""

from __future__ import annotations

import importlib
import sys
import warnings


def moved(old: str, new: str) -> None:
    """Make module ``old`` an alias of ``new``, with a ``DeprecationWarning`` naming ``new``.

    Every public name of ``new`` (and its private ones, for tests written against 0.1) is
    reachable from ``old``; ``sys.modules[old]`` becomes the new module itself, so there is
    one object per class and ``isinstance`` keeps working across both paths.
    """
    warnings.warn(
        f"{old} moved to {new}; import it from there ({old} goes away in 0.3)",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = importlib.import_module(new)
