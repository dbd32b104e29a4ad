"""The consent portal against a real chain: a ``collective node --dev`` in a thread with the
suite deployed, a lab (dev account 2) and a hospital (dev account 1) admitted with published
policies whose documents a local static server serves (with CORS, as a policy host must for
the browser to hash the text itself), and the portal served by uvicorn on a free port,
relaying as the lab. One of each per test module.

The hospital's policy is *tampered*: the chain holds the hash of one text, its URI serves
another.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from collective.chain import connect_rpc
from collective.client import Collective
from collective.portal.app import BUNDLE, create_app
from collective.portal.ratelimit import RateLimits
from collective.portal.security import CSRF_COOKIE
from collective.portal.server import serve_in_thread
from collective.testing.node import run_node_thread
from tests.helpers import deploy_consortium

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "build" / "portal-screenshots"
"""Where the browser tests write their screenshots (test artifacts)."""
WAIT = 30_000
"""Milliseconds a browser test waits for the page: scrypt (Web3 Secret Storage) and a
mined transaction fit well within it."""
PURPOSE = "dpv:ResearchAndDevelopment"
CATEGORY = "dpv-pd:MedicalHealth"
LAB_POLICY = (
    b"Helix Lab privacy policy, version 1.\n\nWe use your health records for medical research "
    b"only. We never sell them. You can take back your consent at any time.\n"
)
HOSPITAL_POLICY = b"St Mary's Hospital policy, version 1: research on medical records.\n"
HOSPITAL_TAMPERED = b"St Mary's Hospital policy, version 1: we may sell your records.\n"


class _PolicyHandler(BaseHTTPRequestHandler):
    documents: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.documents.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("access-control-allow-origin", "*")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_documents(documents: dict[str, bytes]) -> Iterator[str]:
    """A static server (with CORS, as a policy host must be) of ``documents`` (path ->
    bytes) on a free loopback port for the ``with`` block; its base URL."""
    handler = type("Handler", (_PolicyHandler,), {"documents": documents})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def policy_host() -> Iterator[str]:
    """A static server for the policy documents; its base URL."""
    with serve_documents({"/lab/v1": LAB_POLICY, "/hospital/v1": HOSPITAL_TAMPERED}) as url:
        yield url


@dataclass
class Ledger:
    """The chain's clients: the consortium admin, the lab (the portal's relayer) and the
    hospital; ``node`` is the node's URL."""

    node: str
    admin: Collective
    lab: Collective
    hospital: Collective


@pytest.fixture(scope="module")
def ledger(policy_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A dev node with the suite, the lab and the hospital admitted, both policies published."""
    with run_node_thread(dev=True) as url:
        chain = connect_rpc(url, name="node")
        suite = deploy_consortium(chain, tmp_path_factory.mktemp("portal") / "node.json")
        dev = chain.dev_accounts
        admin = Collective(chain, suite, dev[0])
        lab, hospital = admin.as_account(dev[2]), admin.as_account(dev[1])
        for org in (lab, hospital):
            admin.orgs.admit(org.address)
        lab.policies.publish(LAB_POLICY, f"{policy_host}/lab/v1", [PURPOSE])
        hospital.policies.publish(HOSPITAL_POLICY, f"{policy_host}/hospital/v1", [PURPOSE])
        yield Ledger(url, admin, lab, hospital)


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The browser bundle, built now from portal/web (as scripts/setup.sh does)."""
    subprocess.run(["npm", "run", "--silent", "build:portal"], cwd=REPO, check=True, timeout=120)
    return BUNDLE


@pytest.fixture(scope="module")
def portal(ledger: Ledger, bundle: Path) -> Iterator[str]:
    """The portal relaying as the lab, on a free port; its base URL. The per-identity rate
    limit is 5 at once (the rate-limit test exhausts it; the browser's story takes 4)."""
    app = create_app(ledger.lab, limits=RateLimits(per_identity=(0.01, 5), per_client=(1.0, 50)))
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright, one per test module (skipped without either);
    :data:`SHOTS` made for the screenshots."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def wait_for(page: Any, function: str) -> Any:
    """``function``'s (JavaScript source) first truthy value in ``page``, polled from here
    for up to :data:`WAIT`: Playwright's ``wait_for_function`` polls with eval, which the
    portal's CSP forbids (no 'unsafe-eval'), so it never returns there."""
    deadline = time.monotonic() + WAIT / 1000
    while not (value := page.evaluate(function)):
        assert time.monotonic() < deadline, f"never true in the page: {function}"
        time.sleep(0.05)
    return value


def csrf_session(page_url: str) -> requests.Session:
    """A browser-like session holding the portal's CSRF cookie, set by GET ``page_url`` (a
    portal page's full URL)."""
    session = requests.Session()
    session.get(page_url, timeout=10).raise_for_status()
    assert session.cookies.get(CSRF_COOKIE)
    return session


def post_json(
    session: requests.Session, url: str, body: str | bytes, timeout: float = 30
) -> requests.Response:
    """POST ``body`` (JSON text) to ``url`` echoing the session's CSRF cookie in the
    ``x-csrftoken`` header (double submit), as the page's script does."""
    return session.post(
        url,
        data=body.encode() if isinstance(body, str) else body,
        headers={
            "x-csrftoken": session.cookies.get(CSRF_COOKIE) or "",
            "content-type": "application/json",
        },
        timeout=timeout,
    )


def run_js(script: str, argument: str, *, timezone: str | None = None) -> Any:
    """The JSON that ``script`` (an ES module's source, importing ``./portal/web/...`` from
    the repository's root) prints, run by node with ``argument`` as ``process.argv[1]``
    (in ``timezone`` when given, e.g. ``UTC``); the test is skipped without node.

    Raises:
        subprocess.CalledProcessError: the script failed (its stderr kept).
    """
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    env = None if timezone is None else {**os.environ, "TZ": timezone}
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, argument],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    return json.loads(done.stdout)
