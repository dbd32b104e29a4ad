// Pairwise identities, exactly as collective/did/pairwise.py derives them:
//
//   index = first 31 bits of keccak256(uint256 chainId || address organization)
//   path  = m/44'/60'/{index}'/{counter}'/{generation}'     (BIP-32 on the BIP-39 seed)
//
// counter separates organizations whose index collides, in the consortium's admission
// order (counters() mirrors pairwise.counters); generation is the owner key's generation.
import { HDNodeWallet, Mnemonic, getAddress, solidityPackedKeccak256 } from "ethers";

const HARDENED = 0x80000000;
export const MAX_GENERATIONS = 1024; // as collective/client/subjects.py tries
export const DEACTIVATED = "0x000000000000000000000000000000000000dEaD";

/** The organization's BIP-44 account index on this chain (an integer in [0, 2^31)). */
export function indexOf(chainId, organization) {
  const digest = solidityPackedKeccak256(["uint256", "address"], [BigInt(chainId), getAddress(organization)]);
  return parseInt(digest.slice(2, 10), 16) >>> 1;
}

/** m/44'/60'/{index}'/{counter}'/{generation}' */
export function derivationPath(chainId, organization, counter = 0, generation = 0) {
  for (const [name, value] of [["counter", counter], ["generation", generation]]) {
    if (!Number.isInteger(value) || value < 0 || value >= HARDENED) {
      throw new Error(`${name} ${value} is outside 0 .. 2**31 - 1`);
    }
  }
  return `m/44'/60'/${indexOf(chainId, organization)}'/${counter}'/${generation}'`;
}

/** Each wanted organization's collision counter (checksummed address -> counter), placing
 *  those not admitted after every admitted one, as pairwise.counters does. */
export function counters(chainId, admitted, wanted) {
  const order = [];
  const seen = new Set();
  for (const org of [...admitted, ...wanted]) {
    const address = getAddress(org);
    if (!seen.has(address)) {
      seen.add(address);
      order.push(address);
    }
  }
  const taken = new Map();
  const placed = new Map();
  for (const org of order) {
    const index = indexOf(chainId, org);
    const counter = taken.get(index) ?? 0;
    placed.set(org, counter);
    taken.set(index, counter + 1);
  }
  const result = new Map();
  for (const org of wanted) result.set(getAddress(org), placed.get(getAddress(org)));
  return result;
}

/** The words as pairwise.seed_of reads them: lower case, single spaces. */
export function normalizeWords(words) {
  return words.toLowerCase().trim().split(/\s+/).join(" ");
}

/** The BIP-32 root of a mnemonic (BIP-39 seed, empty passphrase). Throws for a phrase that
 *  is not valid BIP-39 (the message never repeats the words). */
export function rootOf(words) {
  let mnemonic;
  try {
    mnemonic = Mnemonic.fromPhrase(normalizeWords(words));
  } catch {
    throw new Error("these are not valid secret words: a word is misspelled or missing, or the words are out of order");
  }
  return HDNodeWallet.fromSeed(mnemonic.computeSeed());
}

/** The pairwise identity for an organization: { organization, address, path, wallet }.
 *  `admitted` is the consortium's admission order (for the counter). */
export function identityFor(root, chainId, organization, admitted = [], generation = 0) {
  const org = getAddress(organization);
  const counter = counters(chainId, admitted, [org]).get(org);
  const path = derivationPath(chainId, org, counter, generation);
  const wallet = root.derivePath(path);
  return { organization: org, address: wallet.address, path, wallet };
}

/** The key that owns the identity now: the generation whose address is `owner` (the
 *  identity's owner on chain), as Subject.current finds it. Returns the identity with that
 *  generation's wallet; throws in plain words when the identity was closed or handed to a key
 *  these words do not hold. */
export function currentKey(identity, root, owner) {
  if (getAddress(owner) === DEACTIVATED) {
    throw new Error("this code was closed (deactivated): nothing can be signed for it any more");
  }
  const parent = root.derivePath(identity.path.slice(0, identity.path.lastIndexOf("/")));
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const wallet = parent.deriveChild(HARDENED + generation);
    if (wallet.address === getAddress(owner)) return { ...identity, generation, wallet };
  }
  throw new Error("this code now belongs to a key your secret words do not hold");
}
