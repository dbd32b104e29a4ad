"""AccountRules: consortium admins, organization lifecycle, Besu transactionAllowed."""

from __future__ import annotations

from collective.errors import NotPermittedError
from tests.helpers import World, expect_revert

ZERO = "0x" + "00" * 20
SUSPEND, REINSTATE, REPLACE_BOARD = 0, 1, 6  # OversightBoard.Action


def allowed(w: World, who: str) -> bool:
    return bool(w.rules.functions.transactionAllowed(who, w.ledger.address, 0, 0, 0, b"").call())


def test_admitted_orgs_are_active_and_listed(w: World) -> None:
    assert w.rules.functions.isActive(w.hospital.address).call()
    assert w.rules.functions.statusOf(w.lab.address).call() == 1
    assert set(w.rules.functions.accounts().call()) == {w.hospital.address, w.lab.address}
    assert allowed(w, w.hospital.address) and allowed(w, w.admin.address)
    assert not allowed(w, w.stranger.address)


def test_only_admins_manage_accounts(w: World) -> None:
    calls = {
        "admit": ("NotAdmin", w.rules.functions.admit(w.stranger.address)),
        "remove": ("NotAdmin", w.rules.functions.remove(w.lab.address)),
        "addAdmin": ("NotAdmin", w.rules.functions.addAdmin(w.stranger.address)),
        "setBoard": ("NotBoard", w.rules.functions.setBoard(w.stranger.address)),
        "suspend": ("NotAdminOrBoard", w.rules.functions.suspend(w.lab.address)),
        "reinstate": ("NotAdminOrBoard", w.rules.functions.reinstate(w.lab.address)),
    }
    for error, fn in calls.values():
        with expect_revert(error, NotPermittedError):
            w.tx(fn, w.hospital)
    assert w.rules.functions.isActive(w.lab.address).call()


def test_suspend_reinstate_remove_lifecycle(w: World) -> None:
    receipt = w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    (event,) = w.events(w.rules, "AccountSuspended", receipt)
    assert event.args.account == w.lab.address and event.args.by == w.admin.address
    assert not allowed(w, w.lab.address)
    with expect_revert("NotActive"):
        w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)
    assert allowed(w, w.lab.address)
    with expect_revert("NotSuspended"):
        w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)
    w.tx(w.rules.functions.remove(w.hospital.address), w.admin)
    assert w.rules.functions.accounts().call() == [w.lab.address]
    assert w.rules.functions.statusOf(w.hospital.address).call() == 0
    with expect_revert("NotAdmitted"):
        w.tx(w.rules.functions.remove(w.hospital.address), w.admin)
    # A removed account can be admitted again.
    w.tx(w.rules.functions.admit(w.hospital.address), w.admin)
    assert allowed(w, w.hospital.address)


def test_admit_rejects_duplicates_and_zero(w: World) -> None:
    with expect_revert("AlreadyAdmitted"):
        w.tx(w.rules.functions.admit(w.lab.address), w.admin)
    with expect_revert("ZeroAddress"):
        w.tx(w.rules.functions.admit(ZERO), w.admin)


def test_admins_cannot_remove_the_last_admin(w: World) -> None:
    with expect_revert("LastAdmin"):
        w.tx(w.rules.functions.removeAdmin(w.admin.address), w.admin)
    w.tx(w.rules.functions.addAdmin(w.stranger.address), w.admin)
    assert w.rules.functions.adminCount().call() == 2
    with expect_revert("AlreadyAdmin"):
        w.tx(w.rules.functions.addAdmin(w.stranger.address), w.admin)
    w.tx(w.rules.functions.removeAdmin(w.admin.address), w.stranger)
    assert not w.rules.functions.isAdmin(w.admin.address).call()
    with expect_revert("NotAdmin"):
        w.tx(w.rules.functions.admit(w.guardian.address), w.admin)


def test_board_is_wired_and_may_only_suspend_and_reinstate(w: World) -> None:
    assert w.rules.functions.board().call() == w.board.address
    # Only the board replaces itself (here the board contract is played by an EOA handed the role
    # through a ReplaceBoard proposal).
    board_replaces_itself(w, w.stranger.address)
    w.tx(w.rules.functions.suspend(w.lab.address), w.stranger)
    w.tx(w.rules.functions.reinstate(w.lab.address), w.stranger)
    with expect_revert("NotAdmin"):
        w.tx(w.rules.functions.admit(w.guardian.address), w.stranger)


def board_replaces_itself(w: World, new_board: str) -> None:
    """Pass a ReplaceBoard proposal (2 of 3 members) handing over to ``new_board``."""
    m1, m2 = w.members[0], w.members[1]
    w.tx(w.board.functions.propose(REPLACE_BOARD, new_board, b"\0" * 32, b"\0" * 32), m1)
    w.tx(w.board.functions.approve(w.board.functions.proposalCount().call() - 1), m2)
    assert w.rules.functions.board().call() == new_board


def board_suspends(w: World, org: str) -> None:
    m1, m2 = w.members[0], w.members[1]
    w.tx(w.board.functions.propose(SUSPEND, org, b"\0" * 32, b"\0" * 32), m1)
    w.tx(w.board.functions.approve(w.board.functions.proposalCount().call() - 1), m2)


def test_admins_and_organizations_are_kept_apart(w: World) -> None:
    """Issue 10 item 12: an admin that is also an organization would transact past its own
    board suspension (transactionAllowed lets admins through)."""
    with expect_revert("RoleConflict", NotPermittedError):
        w.tx(w.rules.functions.admit(w.admin.address), w.admin)
    with expect_revert("RoleConflict", NotPermittedError):
        w.tx(w.rules.functions.addAdmin(w.lab.address), w.admin)
    # Not even once the account is suspended: an admin role would lift it at the door.
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    with expect_revert("RoleConflict", NotPermittedError):
        w.tx(w.rules.functions.addAdmin(w.lab.address), w.admin)
    assert not allowed(w, w.lab.address)


def test_only_the_board_lifts_a_board_suspension(w: World) -> None:
    board_suspends(w, w.lab.address)
    assert w.rules.functions.suspendedByBoard(w.lab.address).call()
    assert not allowed(w, w.lab.address)
    with expect_revert("BoardSuspension", NotPermittedError):
        w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)
    with expect_revert("BoardSuspension", NotPermittedError):
        w.tx(w.rules.functions.remove(w.lab.address), w.admin)  # remove + admit would lift it
    # The admin cannot unset or replace the board to get around it.
    with expect_revert("NotBoard", NotPermittedError):
        w.tx(w.rules.functions.setBoard(ZERO), w.admin)
    with expect_revert("NotBoard", NotPermittedError):
        w.tx(w.rules.functions.setBoard(w.admin.address), w.admin)
    m1, m2 = w.members[0], w.members[1]
    w.tx(w.board.functions.propose(REINSTATE, w.lab.address, b"\0" * 32, b"\0" * 32), m1)
    w.tx(w.board.functions.approve(w.board.functions.proposalCount().call() - 1), m2)
    assert w.rules.functions.isActive(w.lab.address).call()
    assert not w.rules.functions.suspendedByBoard(w.lab.address).call()


def test_an_admin_suspension_is_lifted_by_admins_unless_the_board_takes_it_over(w: World) -> None:
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)
    w.tx(w.rules.functions.suspend(w.lab.address), w.admin)
    board_suspends(w, w.lab.address)  # the board takes the suspension over
    assert w.rules.functions.suspendedByBoard(w.lab.address).call()
    with expect_revert("BoardSuspension", NotPermittedError):
        w.tx(w.rules.functions.reinstate(w.lab.address), w.admin)


def test_the_first_board_is_set_by_an_admin_then_only_by_the_board(chain, tmp_path) -> None:
    from collective.build.artifacts import load_artifact

    dev = chain.dev_accounts
    artifact = load_artifact("AccountRules")
    factory = chain.contract(artifact.abi, bytecode=artifact.bytecode)
    receipt = chain.transact(factory.constructor([dev[0].address]), dev[0])
    rules = chain.contract(artifact.abi, receipt["contractAddress"])
    with expect_revert("NotAdmin", NotPermittedError):
        chain.transact(rules.functions.setBoard(dev[5].address), dev[5])
    chain.transact(rules.functions.setBoard(dev[5].address), dev[0])
    with expect_revert("NotBoard", NotPermittedError):
        chain.transact(rules.functions.setBoard(dev[6].address), dev[0])
    chain.transact(rules.functions.setBoard(dev[6].address), dev[5])  # the board hands over
    assert rules.functions.board().call() == dev[6].address
