"""An injected EIP-1193 wallet in Debian's chromium: the person chooses "use my wallet"
instead of secret words, the identity is the wallet's account, a grant is signed with
eth_signTypedData_v4 and lands on chain, and is withdrawn the same way; the guardians page
says a wallet cannot sign ERC-1056 changes; a wallet on another chain gets a clear message.

A wallet extension cannot be installed here (no network, and Chromium's headless mode loads no
store extensions), so the test injects a minimal EIP-1193 provider (``window.ethereum``) with
``page.add_init_script``; its ``request`` calls back into Python through
``page.expose_function``, where eth_account holds the key and signs, as a wallet would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective.portal.links import ConsentLink
from tests.portal.conftest import CATEGORY, PURPOSE, SHOTS, WAIT, Ledger

PROVIDER = """
window.ethereum = {
  request: async ({ method, params }) => {
    const answer = JSON.parse(await window.pythonWallet(method, JSON.stringify(params ?? [])));
    if (!answer.error) return answer.result;
    throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
  },
};
"""


@dataclass
class FakeWallet:
    """The Python side of the injected provider: one key, one chain; what it signed."""

    key: LocalAccount
    chain_id: int
    signed: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, method: str, params_json: str) -> str:
        params = json.loads(params_json)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return json.dumps({"result": [self.key.address]})
        if method == "eth_chainId":
            return json.dumps({"result": hex(self.chain_id)})
        if method == "eth_signTypedData_v4":
            address, payload = params
            if address.lower() != self.key.address.lower():
                return json.dumps({"error": {"code": 4100, "message": "unknown account"}})
            document = json.loads(payload)
            self.signed.append(document)
            signature = self.key.sign_typed_data(full_message=document).signature
            return json.dumps({"result": "0x" + bytes(signature).hex()})
        return json.dumps({"error": {"code": 4200, "message": f"{method} is not supported"}})


def _with_wallet(browser: Any, wallet: FakeWallet) -> tuple[Any, Any]:
    context = browser.new_context()
    context.add_init_script(PROVIDER)
    context.expose_function("pythonWallet", wallet)
    return context, context.new_page()


def test_a_wallet_identity_signs_a_grant_that_lands_on_chain(
    browser: Any, portal: str, ledger: Ledger
) -> None:
    lab = ledger.lab
    wallet = FakeWallet(Account.create(), lab.chain.chain_id)
    context, page = _with_wallet(browser, wallet)
    page.goto(f"{portal}/")
    page.wait_for_selector("#wallet-choice", state="visible", timeout=WAIT)
    page.screenshot(path=str(SHOTS / "wallet-1-choice.png"), full_page=True)
    page.click("#use-wallet")
    page.wait_for_selector("#wallet-ready", state="visible", timeout=WAIT)
    assert page.inner_text("#wallet-address") == wallet.key.address
    assert "the same with every organization" in page.inner_text("#wallet-ready")
    page.screenshot(path=str(SHOTS / "wallet-2-ready.png"), full_page=True)

    page.goto(f"{portal}/guardians")
    page.wait_for_selector("#wallet-guardians", state="visible", timeout=WAIT)
    assert "wallets refuse to make that kind of signature" in page.inner_text("#wallet-guardians")
    assert page.is_hidden("#appoint")
    page.wait_for_selector("#guardian-list p", timeout=WAIT)
    page.screenshot(path=str(SHOTS / "wallet-3-guardians.png"), full_page=True)

    page.goto(
        ConsentLink.for_current_policy(ledger.admin, lab.address, PURPOSE, CATEGORY).url(portal)
    )
    page.wait_for_selector("#policy-check.ok", timeout=WAIT)
    page.click("#accept")
    page.wait_for_selector("#answer.ok", timeout=WAIT)
    (document,) = wallet.signed
    assert document["primaryType"] == "Grant"
    assert document["message"]["identity"].lower() == wallet.key.address.lower()
    status = lab.consent.status(wallet.key.address, lab.address, PURPOSE, CATEGORY)
    assert status.state == "active"  # on chain, the wallet's address is the identity
    (granted,) = [
        e for e in lab.consent.timeline(identity=wallet.key.address) if e.action == "grant"
    ]
    assert str(granted.agent) == str(wallet.key.address)
    page.screenshot(path=str(SHOTS / "wallet-4-accepted.png"), full_page=True)

    page.goto(f"{portal}/consents")  # withdraw with one click, signed by the wallet too
    row = page.locator("article.consent[data-state='active']")
    row.wait_for(timeout=WAIT)
    row.get_by_role("button", name="Take back your consent").click()
    page.wait_for_selector("article.consent[data-state='withdrawn']", timeout=WAIT)
    assert [document["primaryType"] for document in wallet.signed] == ["Grant", "Withdrawal"]
    status = lab.consent.status(wallet.key.address, lab.address, PURPOSE, CATEGORY)
    assert status.state == "withdrawn"

    page.goto(f"{portal}/history")  # the wallet's account's history, no secret words asked
    page.wait_for_selector("#history table", timeout=WAIT)
    assert page.is_hidden("#unlock")
    assert page.locator("#history tbody tr").count() == 2  # the grant and the withdrawal
    page.screenshot(path=str(SHOTS / "wallet-6-history.png"), full_page=True)
    context.close()


def test_a_wallet_on_another_chain_is_told_so(browser: Any, portal: str, ledger: Ledger) -> None:
    chain_id = ledger.lab.chain.chain_id
    wallet = FakeWallet(Account.create(), 1)
    context, page = _with_wallet(browser, wallet)
    page.goto(f"{portal}/")
    page.click("#use-wallet")
    page.wait_for_selector("#status.refused", timeout=WAIT)
    message = page.inner_text("#status")
    assert f"your wallet is connected to chain 1, but this ledger is on chain {chain_id}" in (
        message.lower()
    )
    assert f"switch your wallet to chain {chain_id}" in message
    assert page.is_hidden("#wallet-ready") and wallet.signed == []
    page.screenshot(path=str(SHOTS / "wallet-5-wrong-chain.png"), full_page=True)
    context.close()


EVENTFUL_PROVIDER = """
const listeners = { accountsChanged: [], chainChanged: [] };
window.ethereum = {
  request: async ({ method, params }) => {
    const answer = JSON.parse(await window.pythonWallet(method, JSON.stringify(params ?? [])));
    if (!answer.error) return answer.result;
    if (answer.error.plain) throw { code: answer.error.code };
    throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
  },
  on: (event, listener) => listeners[event]?.push(listener),
};
window.emitWallet = (event, value) => listeners[event].forEach((listener) => listener(value));
"""


@dataclass
class UnrulyWallet(FakeWallet):
    """A FakeWallet whose signing answer is set by the test: ``"sign"`` (as it should),
    ``"decline"`` (EIP-1193 4001), ``"garbage"`` (not a signature), ``"other-key"`` (another
    key's signature) or ``"mute"`` (an error object with no message)."""

    behaviour: str = "sign"
    other: LocalAccount = field(default_factory=Account.create)

    def __call__(self, method: str, params_json: str) -> str:
        if method != "eth_signTypedData_v4" or self.behaviour == "sign":
            return super().__call__(method, params_json)
        document = json.loads(json.loads(params_json)[1])
        if self.behaviour == "decline":
            return json.dumps({"error": {"code": 4001, "message": "User rejected the request."}})
        if self.behaviour == "mute":
            return json.dumps({"error": {"code": -32603, "plain": True}})
        if self.behaviour == "garbage":
            return json.dumps({"result": "0x1234"})
        signature = self.other.sign_typed_data(full_message=document).signature
        return json.dumps({"result": "0x" + bytes(signature).hex()})


def test_a_wallet_that_switches_refuses_or_misbehaves_is_told_in_words(
    browser: Any, portal: str, ledger: Ledger
) -> None:
    """The wallet switches account (accountsChanged: the page reloads for the new one; and
    without the event: signing is stopped), declines (4001), answers with no signature, with
    another key's, or with a bare error object, and switches network (chainChanged): each is
    a plain sentence, and nothing reaches the ledger."""
    lab = ledger.lab
    first, second = Account.create(), Account.create()
    wallet = UnrulyWallet(first, lab.chain.chain_id)
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    context.add_init_script(EVENTFUL_PROVIDER)
    context.expose_function("pythonWallet", wallet)
    page = context.new_page()
    page.goto(f"{portal}/")
    page.click("#use-wallet")
    page.wait_for_selector("#wallet-ready", state="visible", timeout=WAIT)
    assert page.inner_text("#wallet-address") == first.address

    wallet.key = second  # the person picks another account in the wallet
    page.evaluate(
        "address => window.emitWallet('accountsChanged', [address.toLowerCase()])", second.address
    )
    page.wait_for_selector(f"#wallet-address >> text={second.address}", timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.goto(
        ConsentLink.for_current_policy(ledger.admin, lab.address, PURPOSE, CATEGORY).url(portal)
    )
    page.wait_for_selector("#policy-check.ok", timeout=WAIT)
    said = {
        "decline": "You declined the request in your wallet; nothing was signed or sent.",
        "garbage": "Your wallet answered with something that is not a signature",
        "other-key": f"is not {second.address}'s (it is {wallet.other.address}'s)",
        "mute": "Your wallet refused the request (it gave no reason)",
    }
    for behaviour, words in said.items():
        wallet.behaviour = behaviour
        page.click("#accept")
        page.wait_for_selector("#answer.refused", timeout=WAIT)
        assert words in page.inner_text("#answer"), (behaviour, page.inner_text("#answer"))
        page.evaluate("document.getElementById('answer').className = ''")
    assert wallet.signed == []
    for who in (first, second):
        assert lab.consent.status(who.address, lab.address, PURPOSE, CATEGORY).state == "none"
    wallet.behaviour = "sign"
    page.click("#accept")
    page.wait_for_selector("#answer.ok", timeout=WAIT)

    page.goto(f"{portal}/consents")
    row = page.locator("article.consent[data-state='active']")
    row.wait_for(timeout=WAIT)
    wallet.key = first  # switched back in the wallet, which sent no event this time
    row.get_by_role("button", name="Take back your consent").click()
    page.wait_for_selector("#status.refused", timeout=WAIT)
    assert f"now uses account {first.address}, but this page was opened for {second.address}" in (
        page.inner_text("#status")
    )
    assert len(wallet.signed) == 1
    assert lab.consent.status(second.address, lab.address, PURPOSE, CATEGORY).state == "active"

    wallet.chain_id = 1  # the person switches the wallet to another network
    with page.expect_navigation(timeout=WAIT):  # the page loads again, on the wrong chain
        page.evaluate("window.emitWallet('chainChanged', '0x1')")
    page.wait_for_selector("#status.refused", timeout=WAIT)
    assert "your wallet is connected to chain 1" in page.inner_text("#status").lower()
    page.screenshot(path=str(SHOTS / "wallet-7-misbehaving.png"), full_page=True)
    context.close()
