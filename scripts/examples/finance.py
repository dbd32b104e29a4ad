"""Finance: banks share fraud signals through a consortium service, under customer consent.

    python scripts/examples/finance.py                              # the embedded chain
    python scripts/examples/finance.py --network anvil              # a named network
    python scripts/examples/finance.py --rpc http://127.0.0.1:8545 --manifest dep.json

The story: the consortium admits Northbank, Southbank and FraudNet, the shared fraud-signal
service; FraudNet publishes its policy (purpose dpv:FraudPreventionAndDetection). Customers
consent, each with an expiry, by signing on their phone; their bank relays. FraudNet records a
shared signal about a suspicious transfer as a data use. Two days later Bob's one-day consent
has expired and FraudNet's use of his data is refused (time travel: dev chains only; elsewhere
that part is skipped with a note). The oversight board flags a suspicious bulk lookup by
FraudNet. FraudNet publishes policy v2: uses under consents to v1 are refused until the
customer consents again.

On the embedded chain (the default) the suite is deployed fresh. On a node, the deployment
manifest is used (``--manifest``, default ``deployments/<network>.json``) and written by
deploying the suite when there is none. Actors are the chain's dev accounts when it has them
(anvil, embedded); elsewhere name keystore accounts: ``--admin``, ``--northbank``,
``--southbank``, ``--fraudnet`` and ``--board`` (once per member, as many as the threshold),
password from ``COLLECTIVE_PASSWORD``. Customers are new keys in every run: they never need
ether.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from collective import ChainError, Collective, CollectiveError, ConsentError, SignedRequest
from collective.accounts import resolve_account
from collective.chain import Chain, connect
from collective.client.consent import Granted
from collective.client.usage import UseItem, UseRecorded
from collective.deploy import Deployment, deploy_suite, load_deployment
from collective.errors import ConfigurationError

FRAUD = "dpv:FraudPreventionAndDetection"
AML = "dpv:CounterMoneyLaundering"
TRANSACTIONS = "dpv-pd:Transactional"
ACCOUNT = "dpv-pd:FinancialAccount"
DAY = 24 * 3600

# Dev account index of each actor on dev chains.
DEV = {"admin": 0, "northbank": 5, "southbank": 6, "fraudnet": 4}
BOARD_DEV = [7, 8, 9]


def say(text: str = "") -> None:
    print(text, flush=True)


def step(title: str) -> None:
    say()
    say(f"== {title}")


def date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


# --- setup: chain, actors, deployment ---------------------------------------------------------


def actor(chain: Chain, role: str, given: str | None, dev_index: int) -> LocalAccount:
    """The account playing ``role``: ``given`` (keystore name, address, index) or a dev account."""
    if given is None and not chain.dev_accounts:
        raise ConfigurationError(
            f"{chain.where} has no dev accounts: name the {role} account with --{role}",
            hint="a keystore account name; its password comes from COLLECTIVE_PASSWORD",
        )
    return resolve_account(chain, given if given is not None else dev_index)


def board_keys(chain: Chain, given: list[str] | None) -> list[LocalAccount] | None:
    """Board members named with --board, else dev accounts 7-9, else None (use the manifest)."""
    if given:
        return [resolve_account(chain, spec) for spec in given]
    if len(chain.dev_accounts) > max(BOARD_DEV):
        return [chain.dev_accounts[i] for i in BOARD_DEV]
    return None


def deployment(
    chain: Chain, admin: LocalAccount, board: list[LocalAccount] | None, manifest: Path | None
) -> Deployment:
    """The suite: deployed fresh on the embedded chain, else loaded from (or written to) the
    manifest."""
    members = [key.address for key in board] if board else [admin.address]
    threshold = min(2, len(members))
    if chain.embedded:
        # The embedded chain ends with the process: its manifest goes to a scratch folder.
        path = manifest or Path(tempfile.gettempdir()) / "collective-examples" / "finance.json"
        return deploy_suite(
            chain, admin, board_members=members, threshold=threshold, manifest_path=path, fresh=True
        )
    from collective.config import load_config
    from collective.deploy import default_manifest_path

    path = manifest or default_manifest_path(chain, load_config())
    if path.exists():
        say(f"using the deployment in {path}")
        return load_deployment(chain, path)
    say(f"no deployment manifest at {path}: deploying the suite")
    return deploy_suite(
        chain, admin, board_members=members, threshold=threshold, manifest_path=path
    )


def voters(chain: Chain, suite: Deployment, board: list[LocalAccount] | None) -> list[LocalAccount]:
    """Enough board members to reach the deployment's threshold."""
    keys = board or [resolve_account(chain, member) for member in suite.board_members]
    keys = [key for key in keys if key.address in suite.board_members]
    if len(keys) < suite.threshold:
        raise ConfigurationError(
            f"the board needs {suite.threshold} votes but only {len(keys)} member key(s) are "
            "available",
            hint="name board members with --board (once each)",
        )
    return keys[: suite.threshold]


# --- the story ----------------------------------------------------------------------------------


def admit(admin: Collective, org: Collective, name: str) -> None:
    status = admin.orgs.profile(org.address).status
    if status == "unknown":
        done = admin.orgs.admit(org.address)
        say(f"admitted {name} ({org.address})  [gas {done.gas_used:,}]")
    elif status == "suspended":
        admin.orgs.reinstate(org.address)
        say(f"reinstated {name} ({org.address})")
    else:
        say(f"{name} ({org.address}) is already an active member")


def publish(fraudnet: Collective, purposes: list[str]) -> int:
    version = fraudnet.policies.current_version(fraudnet.address) + 1
    document = f"FraudNet policy v{version}: signals are used only for {', '.join(purposes)}."
    uri = f"https://fraudnet.example/policy/v{version}"
    published = fraudnet.policies.publish(document.encode(), uri, purposes).policy
    say(
        f"FraudNet published policy v{published.version} ({uri}) covering "
        f"{', '.join(published.purposes)}"
    )
    return published.version


def consent_via_bank(
    bank: Collective,
    bank_name: str,
    fraudnet: Collective,
    customers: dict[str, tuple[LocalAccount, list[str], int]],
) -> None:
    """Each customer's phone signs (no gas); the JSON goes to the bank, which relays a batch."""
    inbox: list[str] = []
    for name, (key, categories, days) in customers.items():
        phone = bank.as_account(key)
        expiry = bank.chain.latest_timestamp() + days * DAY
        for category in categories:
            signed = phone.signing.sign_grant(fraudnet.address, FRAUD, category, expiry=expiry)
            inbox.append(signed.to_json())
        what = ", ".join(categories)
        say(f"{name} signed consent for FraudNet to use {what} until {date(expiry)}")
    batch = bank.signing.relay_batch([SignedRequest.from_json(text) for text in inbox])
    say(f"{bank_name} relayed {len(batch.items)} signed consents  [gas {batch.gas_used:,}]")


def share_signal(fraudnet: Collective, items: list[UseItem], what: str) -> UseRecorded:
    done = fraudnet.usage.record_batch(items)
    say(f"FraudNet recorded {what}: {len(done.records)} use(s)  [block {done.block_number}]")
    return done


def refused(what: str, attempt: Callable[[], object]) -> None:
    """Run ``attempt`` expecting the ledger to refuse it; print why it did."""
    try:
        attempt()
    except ConsentError as error:
        say(f"REFUSED: {what} ({error.error_name}): {error.message}")
        return
    raise ConfigurationError(f"{what} was not refused")


def expire(fraudnet: Collective, bob: str) -> None:
    try:
        now = fraudnet.chain.increase_time(2 * DAY)
    except ChainError as error:
        say(f"note: skipped: {fraudnet.chain.where} cannot move its clock ({error.message})")
        return
    say(
        f"two days later ({date(now)}): is FraudNet's use of Bob's data covered? "
        f"{fraudnet.consent.is_covered(bob, fraudnet.address, FRAUD, TRANSACTIONS)}"
    )
    refused(
        "FraudNet's use of Bob's transactions",
        lambda: fraudnet.usage.record(bob, FRAUD, TRANSACTIONS, "signal/SB-0043"),
    )


def flag(board: list[Collective], fraudnet: Collective, use: UseRecorded) -> None:
    record = use.records[0]
    first, *others = board
    vote = first.oversight.flag_use(
        fraudnet.address, record.where.tx_hash, record.where.log_index, "bulk-lookup-no-alert"
    )
    say(f"board member {first.address} proposed to flag it (proposal {vote.proposal_id})")
    for member in others:
        if vote.executed:
            break
        vote = member.oversight.approve(vote.proposal_id)
        say(f"board member {member.address} approved ({vote.approvals} votes)")
    for found in first.oversight.flags():
        if found.proposal_id == vote.proposal_id:
            say(f"FLAGGED: use {found.use_ref[:18]}... by FraudNet, reason '{found.reason}'")


def reconsent(northbank: Collective, fraudnet: Collective, alice: LocalAccount) -> None:
    phone = northbank.as_account(alice)
    expiry = northbank.chain.latest_timestamp() + 365 * DAY
    signed = phone.signing.sign_grant(fraudnet.address, FRAUD, TRANSACTIONS, expiry=expiry)
    granted = northbank.signing.relay(SignedRequest.from_json(signed.to_json()))
    assert isinstance(granted, Granted)  # relay() returns Granted for a signed grant
    say(f"Alice consented again, under policy v{granted.policy_version}; Northbank relayed it")


def histories(client: Collective, customers: dict[str, str]) -> None:
    for name, address in customers.items():
        records = client.usage.history(identity=address)
        say(f"{name} ({client.did.did_of(address)}): {len(records)} use(s)")
        for r in records:
            say(
                f"  {date(r.timestamp)}  FraudNet  {r.purpose}  {r.category:<24} "
                f"policy v{r.policy_version}  block {r.where.block_number}"
            )


def story(
    admin: Collective, banks: dict[str, Collective], fraudnet: Collective, board: list[Collective]
) -> None:
    northbank, southbank = banks["Northbank"], banks["Southbank"]
    step("1. The consortium admits two banks and the fraud-signal service")
    for name, org in (*banks.items(), ("FraudNet", fraudnet)):
        admit(admin, org, name)

    step("2. FraudNet publishes its policy")
    publish(fraudnet, [FRAUD])

    step("3. Customers consent, with an expiry; their bank relays (gasless)")
    alice, bob, carol = Account.create(), Account.create(), Account.create()
    consent_via_bank(
        northbank, "Northbank", fraudnet, {"Alice": (alice, [TRANSACTIONS, ACCOUNT], 365)}
    )
    consent_via_bank(
        southbank,
        "Southbank",
        fraudnet,
        {"Bob": (bob, [TRANSACTIONS], 1), "Carol": (carol, [TRANSACTIONS], 90)},
    )

    step("4. Northbank spots a suspicious transfer: FraudNet records the shared signal")
    signal = [
        UseItem(alice.address, FRAUD, TRANSACTIONS, "signal/NB-0001"),
        UseItem(alice.address, FRAUD, ACCOUNT, "signal/NB-0001/account"),
        UseItem(bob.address, FRAUD, TRANSACTIONS, "signal/SB-0042"),
    ]
    share_signal(fraudnet, signal, "the signal about Alice's transfer and Bob's cross-check")

    step("5. Bob's one-day consent expires")
    expire(fraudnet, bob.address)

    step("6. The oversight board flags a suspicious use")
    lookup = share_signal(
        fraudnet, [UseItem(carol.address, FRAUD, TRANSACTIONS, "bulk/0001")], "a bulk lookup"
    )
    flag(board, fraudnet, lookup)

    step("7. FraudNet publishes a new policy version: customers must consent again")
    publish(fraudnet, [FRAUD, AML])
    refused(
        "FraudNet's use of Alice's transactions under her consent to the old version",
        lambda: fraudnet.usage.record(alice.address, FRAUD, TRANSACTIONS, "signal/NB-0002"),
    )
    reconsent(northbank, fraudnet, alice)
    share_signal(
        fraudnet,
        [UseItem(alice.address, FRAUD, TRANSACTIONS, "signal/NB-0002")],
        "the next signal about Alice",
    )

    step("8. Each customer's data-use history")
    histories(fraudnet, {"Alice": alice.address, "Bob": bob.address, "Carol": carol.address})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", help="named network from hardhat.config.json")
    parser.add_argument("--rpc", help="JSON-RPC URL of any node (overrides --network)")
    parser.add_argument("--manifest", type=Path, help="deployment manifest to use or write")
    for role in DEV:
        parser.add_argument(f"--{role}", help=f"the {role} account (keystore name)")
    parser.add_argument("--board", action="append", help="a board member (once per member)")
    args = parser.parse_args(argv)
    try:
        chain = connect(args.network, args.rpc)
        say(f"Finance example on {chain.name} (chain {chain.chain_id}, {chain.where})")
        admin = actor(chain, "admin", args.admin, DEV["admin"])
        board = board_keys(chain, args.board)
        suite = deployment(chain, admin, board, args.manifest)
        say(
            f"ConsentLedger at {suite.address('ConsentLedger')}; board of "
            f"{len(suite.board_members)}, {suite.threshold} votes needed"
        )
        base = Collective(chain, suite, admin)
        banks = {
            name: base.as_account(actor(chain, role, getattr(args, role), DEV[role]))
            for name, role in (("Northbank", "northbank"), ("Southbank", "southbank"))
        }
        fraudnet = base.as_account(actor(chain, "fraudnet", args.fraudnet, DEV["fraudnet"]))
        members = [base.as_account(key) for key in voters(chain, suite, board)]
        story(base, banks, fraudnet, members)
    except CollectiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    say()
    say("done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
