"""The JSON file of the receipts one transaction gave: one receipt, or an array of several.

``collective consent receipt`` writes it; ``collective consent verify-receipt`` reads one
receipt back (a file holding several says how many).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from collective.receipts.model import ConsentReceipt


def receipts_json(receipts: Sequence[ConsentReceipt]) -> str:
    """The JSON text of ``receipts``, indented, with a final newline.

    Integers JavaScript cannot hold exactly (the evidence's expiry ``2**64 - 1`` of a consent
    until withdrawn) are decimal strings, as in :meth:`ConsentReceipt.to_json`.

    Args:
        receipts: the consent receipts, in log order (those of one transaction).

    Returns:
        A single receipt's document (exactly :meth:`ConsentReceipt.to_json`) when there is
        one, else a JSON array of their documents.
    """
    if len(receipts) == 1:
        return receipts[0].to_json()
    return json.dumps([receipt.to_dict() for receipt in receipts], indent=2) + "\n"


__all__ = ["receipts_json"]
