"""Shared scenario setup for the contract tests: actors, codes and a ready-to-use consortium."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from collective.chain import Chain
from collective.deploy import Deployment, deploy_suite
from collective.errors import TransactionError
from collective.ledger.signing import GrantRequest, SignedRequest, WithdrawalRequest, code, sign

RESEARCH = code("dpv:ResearchAndDevelopment")
TREATMENT = code("dpv:ServiceProvision")
MARKETING = code("dpv:Marketing")
LAB_RESULTS = code("dpv-pd:MedicalHealth/LabResults")
GENETIC = code("dpv-pd:Genetic")
FAR_FUTURE = 2**40
SIG_AUTH = b"sigAuth".ljust(32, b"\0")
VERI_KEY = b"veriKey".ljust(32, b"\0")


BOARD_THRESHOLD = 2


def deploy_consortium(chain: Chain, manifest_path: Path, *, fresh: bool = False) -> Deployment:
    """The suite as the tests use it: dev account 0 deploys it (and is the consortium admin);
    the oversight board is dev accounts 7, 8 and 9 with threshold 2."""
    dev = chain.dev_accounts
    return deploy_suite(
        chain,
        dev[0],
        board_members=[account.address for account in dev[7:10]],
        threshold=BOARD_THRESHOLD,
        manifest_path=manifest_path,
        fresh=fresh,
    )


@dataclass
class World:
    """A deployed suite with two admitted organizations that each published policy v1."""

    chain: Any
    rules: Contract
    ledger: Contract
    board: Contract
    admin: LocalAccount
    hospital: LocalAccount
    lab: LocalAccount
    patient: LocalAccount
    guardian: LocalAccount
    stranger: LocalAccount
    members: list[LocalAccount]

    def tx(self, fn: Any, sender: LocalAccount) -> Any:
        return self.chain.transact(fn, sender)

    def now(self) -> int:
        return int(self.chain.latest_timestamp())

    def grant(
        self,
        subject: LocalAccount,
        org: LocalAccount,
        purpose: bytes = RESEARCH,
        category: bytes = LAB_RESULTS,
        expiry: int = FAR_FUTURE,
        version: int = 1,
        identity: str | None = None,
    ) -> Any:
        fn = self.ledger.functions.grant(
            identity or subject.address, org.address, purpose, category, expiry, version
        )
        return self.tx(fn, subject)

    def consent(
        self,
        identity: str,
        org: LocalAccount,
        purpose: bytes = RESEARCH,
        category: bytes = LAB_RESULTS,
    ) -> tuple[int, int, int, int, bool]:
        result = self.ledger.functions.getConsent(identity, org.address, purpose, category).call()
        return tuple(result)  # type: ignore[return-value]

    def nonce(
        self,
        identity: str,
        org: LocalAccount,
        purpose: bytes = RESEARCH,
        category: bytes = LAB_RESULTS,
    ) -> int:
        return self.consent(identity, org, purpose, category)[3]

    def policy_hash(self, org: LocalAccount, version: int) -> bytes:
        """The content hash of ``org``'s policy ``version`` (zero if it is not published)."""
        if version == 0 or version > self.ledger.functions.currentPolicyVersion(org.address).call():
            return b"\0" * 32
        return bytes(self.ledger.functions.policy(org.address, version).call()[0])

    def sign_grant(
        self,
        signer: LocalAccount,
        identity: str,
        org: LocalAccount,
        *,
        purpose: bytes = RESEARCH,
        category: bytes = LAB_RESULTS,
        expiry: int = FAR_FUTURE,
        version: int = 1,
        policy_hash: bytes | None = None,
        nonce: int | None = None,
        deadline: int | None = None,
        chain_id: int | None = None,
        contract: str | None = None,
    ) -> SignedRequest:
        request = GrantRequest(
            identity,
            org.address,
            purpose,
            category,
            expiry,
            version,
            self.policy_hash(org, version) if policy_hash is None else policy_hash,
            self.nonce(identity, org, purpose, category) if nonce is None else nonce,
            self.now() + 3600 if deadline is None else deadline,
        )
        return sign(
            signer,
            request,
            chain_id=chain_id or self.chain.chain_id,
            verifying_contract=contract or self.ledger.address,
        )

    def sign_withdrawal(
        self,
        signer: LocalAccount,
        identity: str,
        org: LocalAccount,
        *,
        purpose: bytes = RESEARCH,
        category: bytes = LAB_RESULTS,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedRequest:
        request = WithdrawalRequest(
            identity,
            org.address,
            purpose,
            category,
            self.nonce(identity, org, purpose, category) if nonce is None else nonce,
            self.now() + 3600 if deadline is None else deadline,
        )
        return sign(
            signer, request, chain_id=self.chain.chain_id, verifying_contract=self.ledger.address
        )

    def use(
        self,
        org: LocalAccount,
        identity: str,
        purpose: bytes = RESEARCH,
        category: bytes = LAB_RESULTS,
        ref: bytes = b"\x01" * 32,
    ) -> Any:
        return self.tx(self.ledger.functions.recordUse(identity, purpose, category, ref), org)

    def events(self, contract: Contract, name: str, receipt: Any) -> list[Any]:
        return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def make_world(chain: Any, suite: Any) -> World:
    acc = chain.dev_accounts
    world = World(
        chain=chain,
        rules=suite.contract("AccountRules"),
        ledger=suite.contract("ConsentLedger"),
        board=suite.contract("OversightBoard"),
        admin=acc[0],
        hospital=acc[1],
        lab=acc[2],
        patient=acc[3],
        guardian=acc[4],
        stranger=acc[5],
        members=[acc[7], acc[8], acc[9]],
    )
    for org in (world.hospital, world.lab):
        world.tx(world.rules.functions.admit(org.address), world.admin)
        world.tx(
            world.ledger.functions.publishPolicy(
                code(f"policy-v1-{org.address}"),
                "https://example.org/policy/v1",
                [RESEARCH, TREATMENT],
            ),
            org,
        )
    return world


class expect_revert:
    """``with expect_revert("NoConsent"): ...`` asserts the decoded custom error name."""

    def __init__(self, name: str, error_type: type[TransactionError] = TransactionError):
        self.name = name
        self.error_type = error_type
        self.error: TransactionError | None = None

    def __enter__(self) -> expect_revert:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is None:
            raise AssertionError(f"expected a revert with {self.name}, but it succeeded")
        if not isinstance(exc, self.error_type):
            return False
        assert exc.error_name == self.name, f"expected {self.name}, got {exc.error_name}: {exc}"
        self.error = exc
        return True


def play_consent_story(w: World) -> None:
    """The whole consent story, checked step by step: the patient appoints a guardian, who
    signs consent; the lab relays it and uses the data; the hospital, without consent, is
    refused; the patient withdraws and the lab's next use is refused; the board suspends the
    lab (2 of 3) and even a fresh grant does not let it use data."""
    from collective.errors import ConsentError, NotPermittedError

    p = w.patient.address
    w.tx(w.ledger.functions.addDelegate(p, SIG_AUTH, w.guardian.address, 3600), w.patient)
    signed = w.sign_grant(w.guardian, p, w.lab)
    w.tx(w.ledger.functions.grantSigned(*signed.call_args()), w.lab)
    receipt = w.use(w.lab, p)
    assert w.events(w.ledger, "DataUsed", receipt)[0].args.identity == p
    with expect_revert("NoConsent", ConsentError):
        w.use(w.hospital, p)
    w.tx(w.ledger.functions.withdraw(p, w.lab.address, RESEARCH, LAB_RESULTS), w.patient)
    with expect_revert("NoConsent", ConsentError):
        w.use(w.lab, p)
    w.tx(w.board.functions.propose(0, w.lab.address, b"\0" * 32, b"\0" * 32), w.members[0])
    w.tx(w.board.functions.approve(0), w.members[1])
    assert not w.rules.functions.isActive(w.lab.address).call()
    w.grant(w.patient, w.lab)
    with expect_revert("OrganizationSuspended", NotPermittedError):
        w.use(w.lab, p)
