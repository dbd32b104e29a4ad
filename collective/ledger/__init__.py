"""What the ledger's contracts mean in Python.

=================  ========================================================================
``vocab``          W3C DPV terms for purposes and personal-data categories, and their
                   ``bytes32`` codes (``keccak256`` of the name)
``signing``        EIP-712 grant and withdrawal requests: typed data, signing, recovery,
                   the JSON a signed request travels in
``consent_state``  one notion of a consent's state (active, withdrawn, expired, superseded,
                   deactivated) and reading it from the chain at one block
=================  ========================================================================

Import from the modules (``from collective.ledger.signing import sign``): this package
imports nothing itself, so the chain layer can use the vocabulary without an import cycle.
``collective.signing``, ``collective.vocab`` and ``collective.consent_state`` (0.1's paths)
still work, with a DeprecationWarning.
"""
