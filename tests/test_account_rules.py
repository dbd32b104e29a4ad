"""AccountRules: consortium admins, organization lifecycle, Besu transactionAllowed."""

from __future__ import annotations

from collective.errors import NotPermittedError
from tests.helpers import World, expect_revert

ZERO = "0x" + "00" * 20


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
        "setBoard": ("NotAdmin", w.rules.functions.setBoard(w.stranger.address)),
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
    w.tx(w.rules.functions.setBoard(w.stranger.address), w.admin)
    w.tx(w.rules.functions.suspend(w.lab.address), w.stranger)
    w.tx(w.rules.functions.reinstate(w.lab.address), w.stranger)
    with expect_revert("NotAdmin"):
        w.tx(w.rules.functions.admit(w.guardian.address), w.stranger)
