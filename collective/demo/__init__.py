"""The whole consent story on one chain, as a list of steps a person can read.

:func:`run_demo` plays it through the Python client and returns a :class:`DemoReport`;
``collective demo`` prints it (and ``--json`` dumps it). Every step is a real transaction or
read on the chain; the refusals are real reverts caught and explained.

1. The consortium deploys the suite with a three-member oversight board (2 of 3 to act) and
   admits a hospital and a research lab.
2. Both publish hash-pinned policies.
3. A patient, known only by a did:ethr DID, signs consent (EIP-712, offline, no gas) for the lab
   to use lab results for research; the lab relays it and gets a consent receipt.
4. The lab records uses of the patient's data.
5. The patient consents (signed) to the hospital passing its lab results to the lab for
   research; the hospital records the disclosure (onward disclosure, GDPR Art. 13(1)(e)).
6. The patient appoints a guardian, who consents for the patient to the hospital's treatment;
   then the patient takes back control (revokes the guardian) and withdraws the lab's consent
   and the disclosure consent.
7. The lab's next use and the hospital's next disclosure are refused by the contract; the lab
   learns from the chain which disclosures to stop acting on.
8. The patient asks the lab to erase its data (GDPR Art. 17; signed, the hospital relays it);
   the lab confirms with the hash of its erasure evidence, within the 30-day deadline.
9. The board suspends the lab by two of three votes; the suspended lab is refused.
10. The patient's history (consents, uses, disclosures, erasure), read from the chain's events.

The package tells it in three parts: :mod:`~collective.demo.cast` (the actors, the suite and
their admission), :mod:`~collective.demo.story` (the steps) and :mod:`~collective.demo.report`
(what is told: the steps and the history rows).
"""

from __future__ import annotations

import time
from pathlib import Path

from collective.chain import Chain, connect
from collective.config import ProjectConfig, load_config
from collective.demo.cast import roles
from collective.demo.report import DemoReport, Listener, Step
from collective.demo.story import play


def run_demo(
    network: str | None = None,
    *,
    rpc: str | None = None,
    manifest: Path | None = None,
    config: ProjectConfig | None = None,
    on_step: Listener | None = None,
    chain: Chain | None = None,
    keep: Path | None = None,
) -> DemoReport:
    """Play the story on ``network`` or the node at ``rpc`` (default: a fresh embedded chain).

    On a node the actors are its well-known dev accounts (anvil, ``collective node --dev``)
    and the suite is deployed fresh; the demo needs ten dev accounts. If the network has a
    deployment of its own (``manifest``, default ``deployments/<network>.json``) whose
    AccountRules permissions the node, the demo's transacting accounts are admitted there first.

    Args:
        network: a network name of hardhat.config.json (default: its defaultNetwork).
        rpc: a JSON-RPC URL of a dev node; wins over ``network``.
        manifest: the network's own deployment manifest (read only, never written).
        config: the project configuration (default: loaded from hardhat.config.json).
        on_step: called with each :class:`Step` as soon as it happened.
        chain: a connection already open (then ``network`` and ``rpc`` are not used).
        keep: write the demo's deployment manifest there (it must not exist; not on the
            embedded chain), so that other commands -- ``collective portal``, ``consent
            request`` -- can use the demo's ledger afterwards. None: a throwaway one.

    Returns:
        The :class:`DemoReport`: the steps, the patient's history, the transaction count
        and the time taken (seconds).

    Raises:
        ConfigurationError: the chain has fewer than ten well-known dev accounts.
        InvalidInputError: ``keep`` exists, or the chain is the embedded one.
        ChainError: the node cannot be reached.
        CollectiveError: a step the story expects to succeed failed (or a use the ledger
            must refuse was accepted).
    """
    started = time.perf_counter()
    config = config or load_config()
    chain = chain or connect(network, rpc, config)
    report = play(chain, roles(chain), config, manifest, on_step, keep)
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["DemoReport", "Step", "run_demo"]
