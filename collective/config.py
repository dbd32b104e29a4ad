"""Project configuration: ``hardhat.config.json`` (compiler settings, paths, named networks).

The file is looked up from the working directory upwards (or taken from ``COLLECTIVE_CONFIG``).
Without one, the defaults below apply, which match the file shipped in the repository, so an
installed package can deploy its bundled artifacts from anywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collective.errors import ConfigurationError

CONFIG_NAME = "hardhat.config.json"
EMBEDDED_CHAIN_ID = 131277  # eth-tester's chain id

DEFAULT_CONFIG: dict[str, Any] = {
    "solidity": {
        "version": "0.8.37",
        "settings": {
            "optimizer": {"enabled": True, "runs": 10000},
            "evmVersion": "prague",
            "viaIR": False,
            "metadata": {"bytecodeHash": "ipfs"},
        },
    },
    "paths": {"sources": "contracts", "artifacts": "collective/artifacts"},
    "defaultNetwork": "embedded",
    "networks": {
        "embedded": {"type": "embedded", "chainId": EMBEDDED_CHAIN_ID},
        "local": {"url": "http://127.0.0.1:8545"},
        "anvil": {"url": "http://127.0.0.1:8545", "chainId": 31337},
    },
}


@dataclass(frozen=True)
class NetworkConfig:
    """One named network. ``url`` is None for the in-process embedded chain; ``chain_id``
    None when the configuration does not pin one; ``timeout`` in seconds per request."""

    name: str
    url: str | None = None
    chain_id: int | None = None
    timeout: float = 10.0

    @property
    def embedded(self) -> bool:
        """True for the in-process embedded chain (no URL)."""
        return self.url is None


@dataclass(frozen=True)
class ProjectConfig:
    """The parsed configuration, with the folder it came from (``root``)."""

    root: Path | None
    solc_version: str
    solc_settings: dict[str, Any]
    sources: Path | None
    artifacts: Path | None
    default_network: str
    networks: dict[str, NetworkConfig] = field(default_factory=dict)

    def network(self, name: str) -> NetworkConfig:
        """The network called ``name``.

        Raises:
            ConfigurationError: there is none; the hint lists the known names.
        """
        try:
            return self.networks[name]
        except KeyError:
            known = ", ".join(sorted(self.networks))
            raise ConfigurationError(
                f"unknown network {name!r}",
                hint=f"known networks: {known}; or pass --rpc URL",
            ) from None

    @property
    def deployments_dir(self) -> Path:
        """Where deployment manifests live: ``deployments/`` in the project folder, or in the
        working directory when there is no configuration file."""
        return (self.root or Path.cwd()) / "deployments"


def find_config_file(start: Path | None = None) -> Path | None:
    """The config file named by ``COLLECTIVE_CONFIG``, or the nearest ``hardhat.config.json``
    in ``start`` (default: the working directory) or a folder above it; None when there is
    none.

    Raises:
        ConfigurationError: ``COLLECTIVE_CONFIG`` names no file.
    """
    env = os.environ.get("COLLECTIVE_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigurationError(f"COLLECTIVE_CONFIG points at {env}, which is not a file")
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _parse_networks(raw: Any, source: str) -> dict[str, NetworkConfig]:
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{source}: 'networks' must be an object of named networks")
    networks: dict[str, NetworkConfig] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise ConfigurationError(f"{source}: network {name!r} must be an object")
        chain_id = spec.get("chainId")
        if chain_id is not None and not isinstance(chain_id, int):
            raise ConfigurationError(f"{source}: networks.{name}.chainId must be an integer")
        if spec.get("type") == "embedded":
            networks[name] = NetworkConfig(name, None, chain_id or EMBEDDED_CHAIN_ID)
            continue
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{source}: networks.{name}.url must be an http(s) URL",
                hint='e.g. "url": "http://127.0.0.1:8545"',
            )
        timeout = spec.get("timeout", 10.0)
        networks[name] = NetworkConfig(name, url, chain_id, float(timeout))
    return networks


def load_config(path: Path | None = None) -> ProjectConfig:
    """Load ``path`` (or the file found by :func:`find_config_file`, or the defaults).

    Returns:
        The :class:`ProjectConfig`; paths resolved against the file's folder.

    Raises:
        ConfigurationError: the file cannot be read, is not JSON, or a field is malformed
            (``solidity.version``, ``networks``, ``defaultNetwork``).
    """
    path = path or find_config_file()
    raw: dict[str, Any]
    if path is None:
        raw, root, source = DEFAULT_CONFIG, None, "built-in defaults"
    else:
        source = str(path)
        # Imported here: the chain package imports this module, so a module-level import of
        # collective.chain.jsonints would be circular.
        from collective.chain import jsonints

        try:
            raw = jsonints.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigurationError(f"cannot read the configuration {path}: {reason}") from None
        if not isinstance(raw, dict):
            raise ConfigurationError(f"{path}: the top level must be a JSON object")
        root = path.parent.resolve()
    solidity = raw.get("solidity", DEFAULT_CONFIG["solidity"])
    if not isinstance(solidity, dict) or not isinstance(solidity.get("version"), str):
        raise ConfigurationError(f"{source}: 'solidity.version' must be a version string")
    paths = raw.get("paths", DEFAULT_CONFIG["paths"])
    networks = _parse_networks(raw.get("networks", DEFAULT_CONFIG["networks"]), source)
    default = raw.get("defaultNetwork", "embedded")
    if default not in networks:
        raise ConfigurationError(f"{source}: defaultNetwork {default!r} is not in 'networks'")
    return ProjectConfig(
        root=root,
        solc_version=solidity["version"],
        solc_settings=dict(solidity.get("settings", {})),
        sources=(root / paths.get("sources", "contracts")) if root else None,
        artifacts=(root / paths.get("artifacts", "collective/artifacts")) if root else None,
        default_network=default,
        networks=networks,
    )
