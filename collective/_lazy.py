"""Names a package exports but imports only when first asked for (PEP 562), so importing the
package (or one small module inside it) stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(namespace: dict[str, Any], table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name of ``table`` on first use.

    Args:
        namespace: the module's ``globals()``; each value is cached there once imported.
        table: name -> ``"package.module"`` holding it, or ``"package.module:attribute"``
            when it is spelled differently there.

    Returns:
        The function to bind as the module's ``__getattr__``; it raises AttributeError for
        any other name.
    """
    module_name = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
        namespace[name] = value
        return value

    return __getattr__
