"""``collective demo``: the whole consent story on a fresh chain, told step by step."""

from __future__ import annotations

from pathlib import Path

import click

from collective.cli.common import CliState, console, emit_json, pass_state, print_table, to_jsonable

HISTORY_COLUMNS = ("time", "block", "what", "organization", "purpose", "category", "by", "data")


@click.command("demo")
@click.option(
    "--network", "-n", metavar="NAME", help="Named network (default: the embedded chain)."
)
@click.option(
    "--rpc", metavar="URL", help="A dev node's JSON-RPC URL (anvil, collective node --dev)."
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="The network's own deployment (default deployments/<network>.json): on a node "
    "permissioned by its AccountRules, the demo's accounts are admitted there first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def demo_command(
    state: CliState, network: str | None, rpc: str | None, manifest: Path | None, as_json: bool
) -> None:
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
    """
    from collective.demo import Step, run_demo

    as_json = as_json or state.as_json
    out = console()

    def show(step: Step) -> None:
        if as_json:
            return
        marker = "[bold red]✗[/]" if step.refused else "[bold green]✓[/]"
        out.print(f"\n{marker} [bold]{step.title}[/]")
        for line in step.lines:
            out.print(f"    {line}", markup=False)

    report = run_demo(
        network or state.network,
        rpc=rpc or state.rpc,
        manifest=manifest,
        on_step=None if as_json else show,
    )
    if as_json:
        emit_json(to_jsonable(report))
        return
    out.print()
    print_table(
        "The patient's data-use history (from the chain's events)",
        HISTORY_COLUMNS,
        [[row[column] for column in HISTORY_COLUMNS] for row in report.history],
    )
    out.print(
        f"\n{report.transactions} transactions on {report.network} (chain {report.chain_id}) "
        f"in {report.seconds:.1f} s."
    )
