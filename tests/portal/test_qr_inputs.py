"""Odd input to the QR code makers, without a chain: ``--qr`` given a folder or a bare
suffix is refused with a sentence and a usable example, and ``/qr`` refuses a link that gives
a parameter twice (the page would read one value, a person reading the link the other)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from collective.errors import InvalidInputError
from collective.portal.problems import PortalInputError
from collective.portal.qr import kind_of, write_qr
from collective.portal.qr_page import link_parameter, portal_link

ORIGIN = "https://consent.example"
LAB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
OTHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
QUERY = {
    "org": LAB,
    "purpose": "dpv:ResearchAndDevelopment",
    "category": "dpv-pd:MedicalHealth",
    "version": "1",
    "hash": "0x" + "ab" * 32,
}


def test_qr_file_names_that_name_no_file_are_refused_with_an_example(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as folder:
        kind_of(tmp_path)
    assert folder.value.message == f"{tmp_path} is a folder: --qr takes the image file to write"
    assert folder.value.hint == f"for example --qr {tmp_path / 'consent-qr.svg'}"
    for bare in (".svg", ".PNG"):
        with pytest.raises(InvalidInputError) as suffix:
            write_qr(f"{ORIGIN}/consent?org=1", tmp_path / bare)
        assert "has no name before its suffix" in suffix.value.message
        assert suffix.value.hint == f"for example --qr {tmp_path / ('consent-qr' + bare)}"
        assert not (tmp_path / bare).exists()


def test_a_link_giving_a_parameter_twice_is_not_drawn() -> None:
    link = f"{ORIGIN}/consent?{urlencode(QUERY)}"
    assert portal_link(link, ORIGIN) == link
    for extra in ({"org": OTHER}, {"hash": "0x" + "cd" * 32}, {"version": ""}):
        doubled = f"{link}&{urlencode(extra)}"
        with pytest.raises(PortalInputError) as caught:
            portal_link(doubled, ORIGIN)
        (name,) = extra
        assert caught.value.message == (
            f"the link gives {name} more than once, so it could be read two ways"
        )


def test_a_link_that_is_no_web_address_gets_no_qr_file(tmp_path: Path) -> None:
    """``--portal consent.example`` (no scheme) or ``javascript:`` makes a link a phone shows
    as text: no image is written, the message says how to give the portal's address."""
    query = urlencode(QUERY)
    for portal in ("consent.example", "javascript:alert(1)", "ftp://consent.example", "https://"):
        poster = tmp_path / "poster.svg"
        with pytest.raises(InvalidInputError) as caught:
            write_qr(f"{portal}/consent?{query}", poster)
        assert "is not a web address, so a phone would not open its QR code" in (
            caught.value.message
        )
        assert caught.value.hint == (
            "give the portal's address with its scheme: --portal https://consent.example"
        )
        assert not poster.exists()
    assert write_qr(f"HTTPS://Consent.Example:8443/consent?{query}", tmp_path / "ok.svg") == "svg"


def test_a_link_not_encoded_in_the_qr_address_is_told_so() -> None:
    """``/qr?link=https://p/consent?org=..&purpose=..``: the query splits the link at its
    first ``&``; the answer says so and how to encode it, not that the link is incomplete."""
    link = f"{ORIGIN}/consent?{urlencode(QUERY)}"
    assert link_parameter({"link": link}) == link
    assert link_parameter({}) == ""
    cut, _, rest = link.partition("&")
    params = {"link": cut, **dict(pair.split("=") for pair in rest.split("&"))}
    with pytest.raises(PortalInputError) as caught:
        link_parameter(params)
    assert caught.value.message == (
        "the address has category, hash, purpose, version beside link=, so the link was cut "
        "at its first &: put the link after ?link= encoded"
    )
    assert "encodeURIComponent" in (caught.value.hint or "")
