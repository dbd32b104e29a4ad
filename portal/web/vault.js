// The person's secret words, kept in this browser's localStorage as a Web3 Secret Storage
// (keystore v3) JSON locked with a passphrase (ethers Wallet.encrypt: scrypt + AES-128-CTR;
// the mnemonic rides encrypted in its x-ethers field). Nothing here is ever sent anywhere.
import { HDNodeWallet, Mnemonic, Wallet, randomBytes } from "ethers";
import { normalizeWords, rootOf } from "./pairwise.js";

const KEY = "collective.vault.v1";
let unlocked = null; // the BIP-32 root while this page is open

export function hasVault() {
  return localStorage.getItem(KEY) !== null;
}

export function isUnlocked() {
  return unlocked !== null;
}

/** 24 new words (256 bits from the browser's CSPRNG), as pairwise.new_mnemonic makes. */
export function newWords() {
  return Mnemonic.fromEntropy(randomBytes(32)).phrase;
}

/** Lock `words` with `passphrase` into localStorage and keep them unlocked for this page. */
export async function store(words, passphrase) {
  const root = rootOf(words); // validates the words first
  const wallet = HDNodeWallet.fromPhrase(normalizeWords(words));
  localStorage.setItem(KEY, await wallet.encrypt(passphrase));
  unlocked = root;
}

/** Unlock the stored words; throws with a plain message for a wrong passphrase. */
export async function unlock(passphrase) {
  const json = localStorage.getItem(KEY);
  if (json === null) throw new Error("no secret words are stored in this browser");
  let wallet;
  try {
    wallet = await Wallet.fromEncryptedJson(json, passphrase);
  } catch {
    throw new Error("that passphrase does not unlock your secret words");
  }
  unlocked = rootOf(wallet.mnemonic.phrase);
}

export function root() {
  if (unlocked === null) throw new Error("your secret words are locked");
  return unlocked;
}

export function forget() {
  localStorage.removeItem(KEY);
  unlocked = null;
}
