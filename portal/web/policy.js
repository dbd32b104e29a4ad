// A policy document as the person may read it: fetched from its URI and refused unless its
// SHA-256 is the content hash the ledger holds for that version (PolicyRegistry). The page
// never shows, compares or signs for a text it has not checked this way.
import { sha256 } from "ethers";

/** Why a policy text cannot be shown: `reason` is "unreachable" or "tampered". */
export class PolicyError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

/** Fetch the policy at `uri` (no cookies, no referrer, no cache) and check that its SHA-256
 *  is `hash` (0x + 64 hex). Returns the text; throws a PolicyError in plain words. */
export async function fetchPolicy(uri, hash) {
  let bytes;
  try {
    const response = await fetch(uri, { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" });
    if (!response.ok) throw new Error(`it answered ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch {
    throw new PolicyError("unreachable", `The policy text could not be fetched from ${uri}`);
  }
  if (sha256(bytes).toLowerCase() !== hash.toLowerCase()) {
    throw new PolicyError("tampered", `The policy text at ${uri} is not the text the organization published on the ledger`);
  }
  return new TextDecoder().decode(bytes);
}
