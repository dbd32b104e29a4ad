"""0.1's import paths of the domain modules keep working for one release.

Modules that moved (``collective.signing`` -> ``collective.ledger.signing``, ...) are the new
module under their old name, with a DeprecationWarning; modules that became packages
(``collective.did``, ``collective.receipts``, ``collective.deploy``, ``collective.accounts``)
re-export every public name they had.
"""

from __future__ import annotations

import importlib
import sys

import pytest

MOVED = {
    "collective.compiler": "collective.build.compiler",
    "collective.artifacts": "collective.build.artifacts",
    "collective.signing": "collective.ledger.signing",
    "collective.vocab": "collective.ledger.vocab",
    "collective.consent_state": "collective.ledger.consent_state",
}

# Every public name of the 0.1 modules that became packages.
PACKAGES = {
    "collective.did": (
        "DEACTIVATED DID_CONTEXT KNOWN_NETWORKS NULL_ADDRESS RECOVERY_METHOD SIG_AUTH "
        "UNKNOWN_NETWORK VERIFICATION_KEY VERI_KEY Did DidDocument DidNetworks EventName "
        "RegistryEvent add_delegate change_log change_owner format_did network_id parse_did "
        "resolution resolve revoke_attribute revoke_delegate set_attribute "
        "unknown_network_message _bytes32"
    ),
    "collective.receipts": (
        "DIRECT GRANTED_TOPIC ISO_SCHEMA KANTARA_VERSION LAWFUL_BASIS POLICY_TOPIC "
        "RECEIPT_NAMESPACE RELAYED UNTIL_WITHDRAWN WITHDRAWAL_METHOD Check ConsentReceipt "
        "Evidence PiiController ReceiptVerification build_receipt build_receipts iso_time "
        "receipt_id_of termination_of verify_receipt"
    ),
    "collective.accounts": (
        "DEFAULT_KEYSTORE KDF_ITERATIONS_ENV KEYSTORE_ENV PASSWORD_ENV PRIVATE_KEY_ENV Kdf "
        "KeystoreEntry KeystoreScan PasswordPrompt check_available create_account "
        "import_account keystore_dir list_accounts load_account password_from_env "
        "resolve_account scan_keystore validate_name _write_new"
    ),
    "collective.deploy": (
        "CONTRACTS DEFAULT_PROPOSAL_LIFETIME FACTORY LEDGER LEDGER_SALT MANIFEST_FORMAT MODULES "
        "Deployment default_manifest_path deploy_suite immutable_ranges ledger_address_for "
        "load_deployment mask read_manifest verify_code"
    ),
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_a_moved_module_is_the_new_one_under_its_old_name(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    for name in getattr(module, "__all__", ()):
        assert getattr(module, name) is not None, name


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_a_module_that_became_a_package_keeps_its_names(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in PACKAGES[package].split() if not hasattr(module, name)]
    assert missing == []


def test_old_and_new_paths_give_the_same_objects() -> None:
    from collective.build.artifacts import load_artifact
    from collective.ledger.signing import SignedRequest
    from collective.ledger.vocab import code_of

    with pytest.warns(DeprecationWarning):
        for old in ("collective.artifacts", "collective.signing", "collective.vocab"):
            sys.modules.pop(old, None)
            importlib.import_module(old)
    assert importlib.import_module("collective.artifacts").load_artifact is load_artifact
    assert importlib.import_module("collective.signing").SignedRequest is SignedRequest
    assert importlib.import_module("collective.vocab").code_of is code_of
