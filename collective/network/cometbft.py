"""Finding the ``cometbft`` binary and running its one-shot commands.

``scripts/setup.sh`` builds CometBFT :data:`COMETBFT_VERSION` with ``go install`` into
``.venv/bin/cometbft``; the two must stay in step, because the node speaks that version's ABCI
2.0 protocol and the network's ``config.toml`` is that version's format.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from collective.errors import ConfigurationError

COMETBFT_VERSION = "v0.38.26"
"""The CometBFT release Collective runs (``scripts/setup.sh`` builds the same one)."""

COMETBFT_ENV = "COLLECTIVE_COMETBFT"
"""Environment variable naming the ``cometbft`` binary to use (wins over the search)."""

SETUP_HINT = "run scripts/setup.sh (needs Go)"
COMMAND_TIMEOUT = 60.0


def cometbft_binary(*, check_version: bool = True) -> Path:
    """The ``cometbft`` executable: ``$COLLECTIVE_COMETBFT``, else ``<sys.prefix>/bin/cometbft``
    (the virtual environment's, where ``scripts/setup.sh`` links it), else the first on PATH.

    Args:
        check_version: also run ``cometbft version`` and require :data:`COMETBFT_VERSION`.

    Returns:
        The binary's path.

    Raises:
        ConfigurationError: none is found, the one named is not executable, or it reports
            another version (naming both).
    """
    named = os.environ.get(COMETBFT_ENV)
    if named:
        path = Path(named)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigurationError(
                f"${COMETBFT_ENV} names {named}, which is not an executable file",
                hint=f"point it at a cometbft {COMETBFT_VERSION} binary, or unset it",
            )
    else:
        local = Path(sys.prefix) / "bin" / "cometbft"
        found = shutil.which("cometbft")
        if local.is_file() and os.access(local, os.X_OK):
            path = local
        elif found:
            path = Path(found)
        else:
            raise ConfigurationError(
                f"cometbft {COMETBFT_VERSION} is not installed (not in {local.parent}, "
                f"not on PATH, ${COMETBFT_ENV} unset)",
                hint=SETUP_HINT,
            )
    if check_version:
        version = run_cometbft(path, "version").strip()
        if version.lstrip("v") != COMETBFT_VERSION.lstrip("v"):
            raise ConfigurationError(
                f"{path} is cometbft {version}, but Collective needs {COMETBFT_VERSION}",
                hint=f"{SETUP_HINT}, or set ${COMETBFT_ENV} to a {COMETBFT_VERSION} binary",
            )
    return path


def run_cometbft(binary: Path, *args: str) -> str:
    """Run ``binary args...`` to completion and return its stdout.

    Args:
        binary: the ``cometbft`` executable (:func:`cometbft_binary`).
        args: the subcommand and its flags, e.g. ``("show-node-id", "--home", "/x")``.

    Returns:
        What it printed on stdout.

    Raises:
        ConfigurationError: it could not be run, exited non-zero (with the end of its output)
            or took longer than a minute.
    """
    try:
        done = subprocess.run(
            [str(binary), *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except OSError as exc:
        raise ConfigurationError(f"cannot run {binary}: {exc.strerror}", hint=SETUP_HINT) from None
    except subprocess.TimeoutExpired:
        raise ConfigurationError(
            f"`cometbft {' '.join(args)}` did not finish within {COMMAND_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-1000:]
        raise ConfigurationError(
            f"`cometbft {' '.join(args)}` failed (exit {done.returncode}): {output}"
        )
    return done.stdout


def node_id(binary: Path, home: Path) -> str:
    """The P2P node id (40 hex digits, from ``node_key.json``) of the CometBFT ``home``.

    Raises:
        ConfigurationError: ``cometbft show-node-id`` failed (no key in ``home``).
    """
    return run_cometbft(binary, "show-node-id", "--home", str(home)).strip()


__all__ = ["COMETBFT_ENV", "COMETBFT_VERSION", "cometbft_binary", "node_id", "run_cometbft"]
