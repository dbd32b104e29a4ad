"""Consent links as QR codes (ISO/IEC 18004), drawn by segno: a file for the CLI, SVG for the
portal.

``collective consent request --qr FILE`` writes the link it prints as an image an organization
can put on a poster or a screen (:func:`write_qr`: SVG or PNG by the file's suffix); the portal
serves the same image of a link to itself at ``/qr?link=...``
(:mod:`collective.portal.qr_page`). The code holds the link's text exactly (byte mode,
error correction level M: 15% of the symbol may be damaged and it still reads), so a phone's
camera opens the very link the organization made. A link longer than :data:`MAX_LINK`
characters is refused: no consent link is that long, and a bounded input keeps the symbol
(version 1-25) readable and cheap to draw.

This module imports no web framework: the CLI uses it without the portal's extra. segno is
pure Python with no dependencies; when it is not installed, :func:`qr_code` says how to add it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from collective.errors import ConfigurationError, InvalidInputError

if TYPE_CHECKING:
    import segno

MAX_LINK = 1024
"""The longest link drawn, in characters (a consent link is ~250)."""

ERROR_LEVEL = "m"
"""The QR error correction level (ISO/IEC 18004 level M, ~15% of codewords recoverable)."""

SCALE = {"svg": 4, "png": 8}
"""Pixels (SVG user units) per module: a PNG is drawn larger, as it cannot scale sharply."""

KINDS = tuple(SCALE)
"""The image formats :func:`write_qr` writes, named by the file's suffix."""


def qr_code(link: str) -> segno.QRCode:
    """The QR code of ``link`` (byte mode, error correction :data:`ERROR_LEVEL`, the smallest
    version that holds it; never a Micro QR code, which phones do not read).

    Args:
        link: the text to encode, at most :data:`MAX_LINK` characters.

    Returns:
        segno's ``QRCode`` (``.matrix``: rows of 0/1 bytes, the quiet zone excluded).

    Raises:
        InvalidInputError: the link is empty or longer than :data:`MAX_LINK` characters.
        ConfigurationError: segno is not installed.
    """
    if not link:
        raise InvalidInputError("there is no link to draw as a QR code")
    if len(link) > MAX_LINK:
        raise InvalidInputError(
            f"the link is {len(link)} characters long; a QR code is drawn of links up to "
            f"{MAX_LINK}",
            hint="a consent link is about 250 characters: check the --portal address",
        )
    try:
        import segno
    except ImportError:
        raise ConfigurationError(
            "QR codes need the segno package, which is not installed",
            hint="pip install segno (scripts/setup.sh installs it)",
        ) from None
    return segno.make(link, error=ERROR_LEVEL, micro=False, boost_error=False)


def kind_of(path: Path) -> str:
    """The image format for ``path``, from its suffix (``.svg`` or ``.png``, any case).

    Raises:
        InvalidInputError: ``path`` is a folder, is only a suffix (``.svg``), or has another
            suffix (the message names the ones taken).
    """
    if path.is_dir():
        raise InvalidInputError(
            f"{path} is a folder: --qr takes the image file to write",
            hint=f"for example --qr {path / 'consent-qr.svg'}",
        )
    if path.name.lower() in {f".{k}" for k in KINDS}:
        raise InvalidInputError(
            f"the file name {path.name} has no name before its suffix",
            hint=f"for example --qr {path.with_name('consent-qr' + path.name)}",
        )
    kind = path.suffix.lower().removeprefix(".")
    if kind not in SCALE:
        raise InvalidInputError(
            f"cannot tell the image format of {path}: its name should end in "
            + " or ".join(f".{k}" for k in KINDS),
            hint=f"for example --qr {path.with_suffix('.svg').name}",
        )
    return kind


def qr_image(link: str, kind: str, *, title: str | None = None) -> bytes:
    """``link``'s QR code as an image file's bytes.

    Args:
        link: the text to encode (see :func:`qr_code`).
        kind: ``"svg"`` or ``"png"`` (:data:`KINDS`).
        title: an SVG ``<title>`` (its accessible name); ignored for PNG.

    Returns:
        The SVG document (UTF-8, with an XML declaration, black on white, a 4-module quiet
        zone, :data:`SCALE` units a module) or the PNG file.

    Raises:
        InvalidInputError: a bad link (:func:`qr_code`) or an unknown ``kind``.
        ConfigurationError: segno is not installed.
    """
    if kind not in SCALE:
        raise InvalidInputError(f"a QR code is drawn as {' or '.join(KINDS)}, not {kind!r}")
    code = qr_code(link)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=SCALE[kind], title=title, light="#fff")
    else:
        code.save(out, kind="png", scale=SCALE[kind])
    return out.getvalue()


def write_qr(link: str, path: Path) -> str:
    """Write ``link``'s QR code to ``path`` as SVG or PNG, chosen by its suffix.

    Args:
        link: the text to encode (see :func:`qr_code`).
        path: the image file to write (replaced if it exists).

    Returns:
        The format written: ``"svg"`` or ``"png"``.

    Raises:
        InvalidInputError: the suffix is neither ``.svg`` nor ``.png``, the link is too long
            or not an ``http(s)://host/...`` address (a phone would show it as text, not
            open it), or the file cannot be written (the message names it and the system's
            reason).
        ConfigurationError: segno is not installed.
    """
    kind = kind_of(path)
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"the link {link[:60]}{'…' if len(link) > 60 else ''} is not a web address, so a "
            "phone would not open its QR code",
            hint="give the portal's address with its scheme: --portal https://consent.example",
        )
    image = qr_image(link, kind, title="A consent request link")
    try:
        path.write_bytes(image)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the QR code to {path}: {exc.strerror or exc}",
            hint="choose a file in a folder you can write to",
        ) from None
    return kind


__all__ = [
    "ERROR_LEVEL",
    "KINDS",
    "MAX_LINK",
    "SCALE",
    "kind_of",
    "qr_code",
    "qr_image",
    "write_qr",
]
