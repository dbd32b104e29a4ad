"""The portal when its node goes away and comes back: a real ``collective node start`` process
(durable data directory) is killed under a running portal, then started again on its port.

While it is gone, every page and ``/api/*`` answer comes within a few seconds: the pages that
need the chain and the API say so in a sentence (HTTP 503, never a traceback), the pages that
do not still open. When it is back, the index's follower resumes by itself (no request needed),
and what it indexed before and after is the chain's history, nothing lost or counted twice.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collective.audit.subjects import SubjectReader
from collective.chain import connect_rpc
from collective.client import Collective
from collective.portal.app import create_app
from collective.portal.links import ConsentLink
from collective.portal.server import serve_in_thread
from collective.testing.node import NodeProcess
from tests.helpers import deploy_consortium
from tests.portal.conftest import CATEGORY, LAB_POLICY, PURPOSE
from tests.portal.test_index import chain_history

ANSWER_WITHIN = 5.0
"""Seconds any answer may take while the node is gone."""


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    return tmp_path / "chain"


@pytest.fixture
def node(node_dir: Path) -> Iterator[list[NodeProcess]]:
    """The node process (a list: the test replaces it when it restarts it), stopped at the end."""
    running = [NodeProcess("--dev", data_dir=node_dir)]
    try:
        yield running
    finally:
        running[-1].stop()


def _get(url: str, **params: Any) -> tuple[requests.Response, float]:
    started = time.monotonic()
    answer = requests.get(url, params=params, timeout=30)
    return answer, time.monotonic() - started


def test_the_portal_says_so_while_its_node_is_gone_and_resumes_after(
    node: list[NodeProcess], node_dir: Path, tmp_path: Path
) -> None:
    chain = connect_rpc(node[0].url, name="node")
    suite = deploy_consortium(chain, tmp_path / "node.json")
    dev = chain.dev_accounts
    admin = Collective(chain, suite, dev[0])
    lab, person = admin.as_account(dev[2]), admin.as_account(dev[3])
    admin.orgs.admit(lab.address)
    lab.policies.publish(LAB_POLICY, "https://lab.example/v1", [PURPOSE])
    person.consent.grant(lab.address, PURPOSE, CATEGORY)
    lab.usage.record(person.address, PURPOSE, CATEGORY, "lab/before")
    link = ConsentLink.for_current_policy(admin, lab.address, PURPOSE, CATEGORY)
    index_file = tmp_path / "index.sqlite"

    with serve_in_thread(create_app(lab, index_path=index_file)) as portal:
        who = {"identity": person.address}
        before, _ = _get(f"{portal}/api/history", **who)
        assert before.status_code == 200, before.text
        assert [row["action"] for row in before.json()["history"]] == ["grant", "use"]

        node[0].process.send_signal(signal.SIGSTOP)  # alive, but answers nothing
        try:
            _everything_answers_at_once(portal, person.address, lab.address, link)
        finally:
            node[0].process.send_signal(signal.SIGCONT)
        node[0].kill()
        _everything_answers_at_once(portal, person.address, lab.address, link)

        # started again on its old port: the portal's client keeps its URL
        node.append(NodeProcess("--dev", data_dir=node_dir, port=node[0].port))
        lab.usage.record(person.address, PURPOSE, CATEGORY, "lab/after")
        head = chain.block_number()
        reader = SubjectReader(index_file)  # the follower resumes without any request
        try:
            deadline = time.monotonic() + 30
            while (reader.synced_to() or 0) < head and time.monotonic() < deadline:
                time.sleep(0.2)
            assert (reader.synced_to() or 0) >= head, "the follower did not resume by itself"
        finally:
            reader.close()

        after, _ = _get(f"{portal}/api/history", **who)
        assert after.status_code == 200, after.text
        rows = after.json()["history"]
        assert rows[:2] == before.json()["history"]
        assert [row["action"] for row in rows] == ["grant", "use", "use"]
        assert rows == chain_history(lab, [person.address])
        mine, _ = _get(f"{portal}/api/consents", **who)
        assert mine.status_code == 200 and len(mine.json()["consents"]) == 1
        page, _ = _get(link.url(portal))
        assert page.status_code == 200


def _everything_answers_at_once(portal: str, person: str, lab: str, link: ConsentLink) -> None:
    """With the node not answering, every page and API answer comes within
    :data:`ANSWER_WITHIN`: 503 and a sentence where the chain is needed. The consent link's
    page is asked first and again last: it must not wait out the node client's timeout
    whether or not an API read has noticed the node's silence before it."""
    who = {"identity": person}
    _the_consent_page_says_so(portal, link)
    needs_chain = {  # first a route that asks the node itself, then one that reads the index
        "/api/consent": {**who, "org": lab, "purpose": PURPOSE, "category": CATEGORY},
        "/api/consents": who,
        "/api/history": who,
        "/api/config": {},
        "/api/policy": {"org": lab, "version": "1"},
        "/api/guardians": who,
        "/api/guardians/nonce": who,
    }
    for path, params in needs_chain.items():
        answer, took = _get(portal + path, **params)
        assert took < ANSWER_WITHIN, f"{path} took {took:.1f} s with the node gone"
        assert answer.status_code == 503, (path, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert error["kind"] == "chain-unavailable", (path, error)
        assert "could not reach the ledger's node" in error["message"]
    _the_consent_page_says_so(portal, link)
    for path in ("/", "/consents", "/history"):  # their script asks /api/*, which says so
        answer, took = _get(portal + path)
        assert took < ANSWER_WITHIN and answer.status_code == 200, (path, took)


def _the_consent_page_says_so(portal: str, link: ConsentLink) -> None:
    """The consent link's page answers within :data:`ANSWER_WITHIN`: 503, in words."""
    page, took = _get(link.url(portal))
    assert took < ANSWER_WITHIN and page.status_code == 503, (took, page.status_code)
    assert "the ledger" in page.text and "Traceback" not in page.text
