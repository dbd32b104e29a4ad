"""Deprecated names and import paths: each keeps working for one release, warning where it is
used, with one message form (``... goes away in 0.3``) that the test suite turns into an error
anywhere but in the tests that check it.

Usage, as the whole body of a module that moved::

    from collective._moved import moved
    moved(__name__, "collective.chain.http")

a module-level ``__getattr__`` for single names that were renamed::

    __getattr__ = deprecated_names(__name__, {"LogRef": ("collective.types.LogPosition", LogPos)})

and :func:`warn_deprecated` for anything else (a property, a module that re-exports).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

REMOVED_IN = "0.3"


def warn_deprecated(message: str, name: str, *, stacklevel: int = 2) -> None:
    """Warn ``DeprecationWarning``: ``message`` and that ``name`` goes away in :data:`REMOVED_IN`.

    ``stacklevel`` counts from the caller, as for :func:`warnings.warn`.
    """
    warnings.warn(
        f"{message} ({name} goes away in {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


def moved(old: str, new: str) -> None:
    """Make module ``old`` an alias of ``new``, with a ``DeprecationWarning`` naming ``new``.

    Every public name of ``new`` (and its private ones, for tests written against 0.1) is
    reachable from ``old``; ``sys.modules[old]`` becomes the new module itself, so there is
    one object per class and ``isinstance`` keeps working across both paths.
    """
    warn_deprecated(f"{old} moved to {new}; import it from there", old, stacklevel=3)
    sys.modules[old] = importlib.import_module(new)


def deprecated_names(
    module: str, renamed: Mapping[str, tuple[str, object]]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving 0.1 names that were renamed, each with a warning.

    Args:
        module: the module's ``__name__``.
        renamed: old name -> (where its replacement lives, the replacement object).

    Returns:
        The function to bind as the module's ``__getattr__``; it raises AttributeError for
        any other name.
    """

    def __getattr__(name: str) -> Any:
        found = renamed.get(name)
        if found is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warn_deprecated(f"{module}.{name} is deprecated; use {found[0]}", name)
        return found[1]

    return __getattr__
