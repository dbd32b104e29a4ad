"""Where an audit index lives by default: one SQLite file per chain, under the project.

``collective audit sync|verify|report`` without ``--db`` use :func:`default_index_path`, so
the index of each network (or RPC endpoint) is found again by the next command.
"""

from __future__ import annotations

import re
from pathlib import Path

from collective.config import ProjectConfig, load_config


def default_index_path(
    network: str | None = None,
    rpc: str | None = None,
    *,
    config: ProjectConfig | None = None,
) -> Path:
    """The default audit index file of the chain a network name or an RPC URL names.

    Args:
        network: a network name of hardhat.config.json (wins over ``rpc``).
        rpc: a JSON-RPC URL (``http://127.0.0.1:8545``), used when no ``network``.
        config: the project configuration (default: hardhat.config.json, found from the
            current folder).

    Returns:
        ``cache/audit-<name>.sqlite`` under the project root (the current folder without
        one), ``<name>`` being ``network``, else ``rpc``'s host and path made safe for a
        file name (at most 100 characters), else the configuration's default network.

    Raises:
        ConfigurationError: hardhat.config.json could not be read (when ``config`` is None).
    """
    config = config if config is not None else load_config()
    if network:
        name = network
    elif rpc:
        name = re.sub(r"[^A-Za-z0-9.-]+", "-", rpc.split("://")[-1]).strip("-")[:100]
    else:
        name = config.default_network
    return (config.root or Path.cwd()) / "cache" / f"audit-{name}.sqlite"


__all__ = ["default_index_path"]
