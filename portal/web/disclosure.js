// The ledger's EIP-712 DisclosureGrant and DisclosureWithdrawal (contracts/DisclosureLog.sol),
// exactly as collective/ledger/disclosure_request.py types them, and the JSON its
// SignedDisclosureGrant / SignedDisclosureWithdrawal.from_json read (kind, request under the
// Python attribute names with uints as decimal strings, signature, signer, domain). Same
// domain as the Grant of eip712.js: {name "Collective", version "2", chainId, the ledger}.
import { getAddress } from "ethers";
import { REPLAY_FIELDS, TERMS_FIELDS, code, replayOf, signStruct, termsOf } from "./eip712.js";

const KEY_FIELDS = [
  { name: "identity", type: "address" },
  { name: "discloser", type: "address" },
  { name: "recipient", type: "address" },
  { name: "purpose", type: "bytes32" },
  { name: "category", type: "bytes32" },
];
export const DISCLOSURE_GRANT_FIELDS = [...KEY_FIELDS, ...TERMS_FIELDS, ...REPLAY_FIELDS];
export const DISCLOSURE_WITHDRAWAL_FIELDS = [...KEY_FIELDS, ...REPLAY_FIELDS];
const STRUCTS = {
  "disclosure-grant": ["DisclosureGrant", DISCLOSURE_GRANT_FIELDS],
  "disclosure-withdrawal": ["DisclosureWithdrawal", DISCLOSURE_WITHDRAWAL_FIELDS],
};

function keyOf({ identity, discloser, recipient, purpose, category }) {
  return {
    identity: getAddress(identity),
    discloser: getAddress(discloser),
    recipient: getAddress(recipient),
    purpose: code(purpose),
    category: code(category),
  };
}

function sign(wallet, kind, message, chainId, ledger) {
  const [primary, fields] = STRUCTS[kind];
  return signStruct(wallet, kind, primary, fields, message, chainId, ledger);
}

/** Sign a DisclosureGrant: the person agrees that `discloser` pass their `category` data to
 *  `recipient` for `purpose`, under the RECIPIENT's policy version and its content hash.
 *  Returns the signed JSON object to POST to /api/relay. */
export function signDisclosureGrant(wallet, request, chainId, ledger) {
  const message = { ...keyOf(request), ...termsOf(request), ...replayOf(request) };
  return sign(wallet, "disclosure-grant", message, chainId, ledger);
}

/** Sign a DisclosureWithdrawal (GDPR Art. 7(3)): no more of this data may be passed; it also
 *  voids every disclosure request signed before it. Returns the signed JSON object. */
export function signDisclosureWithdrawal(wallet, request, chainId, ledger) {
  return sign(wallet, "disclosure-withdrawal", { ...keyOf(request), ...replayOf(request) }, chainId, ledger);
}
