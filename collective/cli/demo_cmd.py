"""``collective demo``: the whole consent story on a fresh chain, told step by step."""

from __future__ import annotations

import click

from collective.cli.connect import open_chain
from collective.cli.options import CliState, chain_options
from collective.cli.output import Table, console, show
from collective.config import load_config
from collective.deploy.manifest import default_manifest_path

HISTORY_COLUMNS = ("time", "block", "what", "organization", "purpose", "category", "by", "data")


@click.command("demo")
@chain_options(
    manifest_env=False,  # the demo's own suite is always fresh; this one is only read
    manifest_help="The network's own deployment (default deployments/<network>.json): on a "
    "node permissioned by its AccountRules, the demo's accounts are admitted there first.",
)
@click.option(
    "--keep-deployment",
    "keep",
    is_flag=True,
    help="Keep the demo's ledger as the network's deployment (deployments/<network>.json, "
    "which must not exist yet), so that `collective portal`, `consent request` and the other "
    "commands work on it afterwards. Not on the embedded chain.",
)
def demo_command(state: CliState, keep: bool) -> None:
    """Play the whole consent story and print what happened.

    \b
    On a fresh chain (the embedded one unless --network/--rpc names a dev node):
      1. the consortium deploys the ledger and admits a hospital and a research lab
      2. both publish hash-pinned policies
      3. a patient (a did:ethr DID) signs consent offline; the lab relays it (gasless)
         and a consent receipt is built and verified against the chain
      4. the lab records uses of the patient's data
      5. the patient's guardian consents for the patient, then the patient revokes the
         guardian and withdraws the lab's consent
      6. the lab's next use is refused by the contract
      7. the oversight board suspends the lab by 2 of 3 votes
      8. the patient's data-use history, read back from the chain's events

    Every step is a real transaction; refusals are real reverts, decoded.

    \b
    Examples:
      collective demo
      collective demo --json > demo.json
      collective demo --rpc http://127.0.0.1:8545     # on a running anvil
      collective demo --network local                 # on `collective node start --dev`
      collective demo --network local --keep-deployment   # then: collective portal ...
    """
    from collective.demo import Step, run_demo

    out = console()

    def told(step: Step) -> None:
        marker = "[bold red]✗[/]" if step.refused else "[bold green]✓[/]"
        out.print(f"\n{marker} [bold]{step.title}[/]")
        for line in step.lines:
            out.print(f"    {line}", markup=False)

    chain = open_chain(state)
    report = run_demo(
        chain=chain,
        manifest=state.manifest,
        on_step=None if state.as_json else told,
        keep=default_manifest_path(chain, load_config()) if keep else None,
    )
    show(
        state,
        report,
        "",
        Table(
            "The patient's data-use history (from the chain's events)",
            HISTORY_COLUMNS,
            [[row[column] for column in HISTORY_COLUMNS] for row in report.history],
        ),
        f"\n{report.transactions} transactions on {report.network} (chain {report.chain_id}) "
        f"in {report.seconds:.1f} s.",
    )


__all__ = ["demo_command"]
