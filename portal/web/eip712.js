// The ledger's EIP-712 Grant and Withdrawal, exactly as collective/ledger/requests.py types
// them, and the JSON collective.ledger.signing.SignedRequest.from_json reads; the
// ErasureRequest of collective/ledger/erasure_request.py (SignedErasure.from_json).
// The `wallet` each sign* function takes is anything with `address` and
// `signTypedData(domain, types, message)`: an ethers Wallet, or signer.js's signerFor(identity,
// owner), which signs with the secret words' key or through the person's EIP-1193 wallet.
import { Signature, getAddress, id } from "ethers";

export const NO_EXPIRY = (1n << 64n) - 1n;
export const DEFAULT_DEADLINE = 3600n; // seconds a signature stays relayable
export const NONCE_CLOCK_SKEW = 600000n; // ms (the contract's)
export const NONCE_STEP = 1000n; // (the contract's)

const KEY_FIELDS = [
  { name: "identity", type: "address" },
  { name: "organization", type: "address" },
  { name: "purpose", type: "bytes32" },
  { name: "category", type: "bytes32" },
];
/** The terms a grant (and a disclosure grant) agrees to, after its key fields. */
export const TERMS_FIELDS = [
  { name: "expiry", type: "uint64" },
  { name: "policyVersion", type: "uint32" },
  { name: "policyHash", type: "bytes32" },
];
/** What every signed request ends with: its nonce and the deadline for relaying it. */
export const REPLAY_FIELDS = [
  { name: "nonce", type: "uint64" },
  { name: "deadline", type: "uint64" },
];
export const GRANT_FIELDS = [...KEY_FIELDS, ...TERMS_FIELDS, ...REPLAY_FIELDS];
export const WITHDRAWAL_FIELDS = [...KEY_FIELDS, ...REPLAY_FIELDS];
export const ERASURE_FIELDS = [
  { name: "identity", type: "address" },
  { name: "organization", type: "address" },
  { name: "deadline", type: "uint64" },
];
const ATTRS = { policyVersion: "policy_version", policyHash: "policy_hash" };

/** The bytes32 code of a purpose or category name (keccak256 of its UTF-8), or a 0x code. */
export function code(name) {
  return /^0x[0-9a-fA-F]{64}$/.test(name) ? name.toLowerCase() : id(name);
}

/** The nonce SigningClient._nonce would pick: max(consent nonce, now in ms held to the
 *  chain's clock), never past what the contract accepts. All arguments BigInt-able. */
export function nextNonce(consentNonce, chainTime, nowMs = BigInt(Date.now())) {
  const stored = BigInt(consentNonce);
  const chainMs = BigInt(chainTime) * 1000n;
  const clock = nowMs < chainMs + NONCE_CLOCK_SKEW / 2n ? nowMs : chainMs + NONCE_CLOCK_SKEW / 2n;
  let nonce = stored > clock ? stored : clock;
  const ceiling = stored + NONCE_STEP > chainMs + NONCE_CLOCK_SKEW ? stored + NONCE_STEP : chainMs + NONCE_CLOCK_SKEW;
  if (nonce > ceiling) nonce = ceiling;
  return nonce;
}

/** The ledger's EIP-712 domain: {name "Collective", version "2", chainId, the ledger address}
 *  (collective/ledger/requests.py's DOMAIN). chainId BigInt-able, ledger a 0x address. */
export function domain(chainId, ledger) {
  return { name: "Collective", version: "2", chainId: BigInt(chainId), verifyingContract: getAddress(ledger) };
}

/** Sign `message` as the EIP-712 struct `primaryType` with `fields` ([{name, type}]) in the
 *  ledger's domain, and return the JSON the Python from_json readers take: {kind, request
 *  (fields under the Python attribute names, uints as decimal strings), signature {v, r, s},
 *  signer, chainId (decimal string), verifyingContract}. `kind` is the JSON's "kind" tag. */
export async function signStruct(wallet, kind, primaryType, fields, message, chainId, ledger) {
  const signature = Signature.from(await wallet.signTypedData(domain(chainId, ledger), { [primaryType]: fields }, message));
  const request = {};
  for (const field of fields) {
    const value = message[field.name];
    request[ATTRS[field.name] ?? field.name] = field.type.startsWith("uint") ? value.toString() : value;
  }
  return {
    kind,
    request,
    signature: { v: signature.v, r: signature.r, s: signature.s },
    signer: wallet.address,
    chainId: BigInt(chainId).toString(),
    verifyingContract: getAddress(ledger),
  };
}

const STRUCTS = {
  grant: ["Grant", GRANT_FIELDS],
  withdrawal: ["Withdrawal", WITHDRAWAL_FIELDS],
  erasure: ["ErasureRequest", ERASURE_FIELDS],
};

function keyOf({ identity, organization, purpose, category }) {
  return { identity: getAddress(identity), organization: getAddress(organization), purpose: code(purpose), category: code(category) };
}

function signRequest(wallet, kind, message, chainId, ledger) {
  const [primary, fields] = STRUCTS[kind];
  return signStruct(wallet, kind, primary, fields, message, chainId, ledger);
}

/** TERMS_FIELDS' values as the struct takes them: expiry (unix seconds, NO_EXPIRY when
 *  null or absent), policy version and hash (0x, lowercased). */
export function termsOf({ expiry, policyVersion, policyHash }) {
  return { expiry: BigInt(expiry ?? NO_EXPIRY), policyVersion: BigInt(policyVersion), policyHash: policyHash.toLowerCase() };
}

/** REPLAY_FIELDS' values as the struct takes them (both BigInt-able). */
export function replayOf({ nonce, deadline }) {
  return { nonce: BigInt(nonce), deadline: BigInt(deadline) };
}

/** Sign a Grant; returns the SignedRequest JSON object (to POST to /api/relay). */
export function signGrant(wallet, request, chainId, ledger) {
  const message = { ...keyOf(request), ...termsOf(request), ...replayOf(request) };
  return signRequest(wallet, "grant", message, chainId, ledger);
}

/** Sign a Withdrawal; returns the SignedRequest JSON object. */
export function signWithdrawal(wallet, request, chainId, ledger) {
  return signRequest(wallet, "withdrawal", { ...keyOf(request), ...replayOf(request) }, chainId, ledger);
}

/** Sign an ErasureRequest (GDPR Art. 17; collective/ledger/erasure_request.py): final for
 *  the (identity, organization) pair. Returns the SignedErasure JSON object. */
export function signErasure(wallet, { identity, organization, deadline }, chainId, ledger) {
  const message = { identity: getAddress(identity), organization: getAddress(organization), deadline: BigInt(deadline) };
  return signRequest(wallet, "erasure", message, chainId, ledger);
}
