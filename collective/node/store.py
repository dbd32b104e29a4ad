"""Deprecated: the store moved to :mod:`collective.node.storage` (goes away in 0.3)."""

from typing import TYPE_CHECKING

from collective._moved import moved

if TYPE_CHECKING:  # what type checkers see; at run time this module *is* the new one
    from collective.node.storage import *  # noqa: F403
    from collective.node.storage import _ID_SHIFT as _ID_SHIFT

moved(__name__, "collective.node.storage")
