// An injected EIP-1193 wallet (window.ethereum: a browser extension or a wallet app's
// browser). The person's identity is then the wallet's account itself: no pairwise
// derivation, so every organization sees the same address. Signing goes through the wallet
// (eth_signTypedData_v4, EIP-712); the wallet's chain must be the ledger's (eth_chainId).
// Whatever the wallet answers is checked before it is used: an account must be an address, a
// signature 65 bytes; a refusal is said in plain words (EIP-1193 error codes).
import { getAddress, isAddress, isHexString } from "ethers";

/** EIP-1193 provider error codes, in words (what the wallet said, without its jargon). */
const REFUSALS = {
  4001: "you declined the request in your wallet; nothing was signed or sent",
  4100: "your wallet has not allowed this page to use your account; nothing was signed or sent",
  4200: "your wallet cannot do what this page asked; nothing was signed or sent",
  4900: "your wallet is not connected to any network; nothing was signed or sent",
  4901: "your wallet is not connected to this ledger's network; nothing was signed or sent",
};

/** The injected provider, or null when this browser has none. */
export function provider() {
  const injected = globalThis.window?.ethereum;
  return injected && typeof injected.request === "function" ? injected : null;
}

export function hasWallet() {
  return provider() !== null;
}

async function request(method, params = []) {
  const injected = provider();
  if (injected === null) throw new Error("this browser has no wallet (no window.ethereum)");
  try {
    return await injected.request({ method, params });
  } catch (error) {
    const known = REFUSALS[error?.code];
    if (known) throw new Error(known);
    const why = typeof error?.message === "string" && error.message.trim() ? error.message.trim() : "it gave no reason";
    throw Object.assign(new Error(`your wallet refused the request (${why}); nothing was signed or sent`), { hint: "check your wallet and try again" });
  }
}

function account(value) {
  if (typeof value !== "string" || !isAddress(value)) {
    throw Object.assign(new Error(`your wallet answered with ${JSON.stringify(value)?.slice(0, 60) ?? "nothing"} instead of an account address`), {
      hint: "unlock your wallet, or use secret words on this portal instead",
    });
  }
  return getAddress(value);
}

/** Throw in plain words unless the wallet is on chain `chainId` (decimal or 0x hex). */
export async function checkChain(chainId) {
  const want = BigInt(chainId);
  const answer = await request("eth_chainId");
  let got;
  try {
    got = BigInt(answer);
  } catch {
    throw new Error(`your wallet named its network ${JSON.stringify(answer)?.slice(0, 40)}, which is not a chain number: nothing was signed`);
  }
  if (got !== want) {
    const error = new Error(
      `your wallet is connected to chain ${got}, but this ledger is on chain ${want}: nothing was signed`,
    );
    error.hint = `switch your wallet to chain ${want} (0x${want.toString(16)}) and try again`;
    throw error;
  }
}

/** Ask the wallet for its account (it may ask the person first); check its chain. Returns
 *  the checksummed address. */
export async function connect(chainId) {
  const accounts = await request("eth_requestAccounts");
  if (!Array.isArray(accounts) || accounts.length === 0) throw new Error("your wallet shared no account");
  const address = account(accounts[0]);
  await checkChain(chainId);
  return address;
}

/** The account the wallet already shares with this page (no prompt), or null. */
export async function sharedAccount() {
  if (!hasWallet()) return null;
  const accounts = await request("eth_accounts");
  return Array.isArray(accounts) && accounts.length > 0 ? account(accounts[0]) : null;
}

/** Call `changed(what, value)` when the person switches the wallet's account ("account", the
 *  first account now or null when disconnected) or network ("chain", its id as the wallet
 *  wrote it): EIP-1193 accountsChanged / chainChanged events. A wallet without `on` sends
 *  none; signing then checks the account itself. */
export function watch(changed) {
  const injected = provider();
  if (typeof injected?.on !== "function") return;
  injected.on("accountsChanged", (accounts) => changed("account", Array.isArray(accounts) && typeof accounts[0] === "string" ? accounts[0] : null));
  injected.on("chainChanged", (chainId) => changed("chain", chainId));
}

/** eth_signTypedData_v4 by `address` of an EIP-712 payload ({types (with EIP712Domain),
 *  primaryType, domain, message}, integers as decimal strings); checks the chain first.
 *  Returns the 65-byte signature as 0x hex; throws in words if the wallet answered anything
 *  else. */
export async function signTypedDataV4(address, payload, chainId) {
  await checkChain(chainId);
  const signature = await request("eth_signTypedData_v4", [address, JSON.stringify(payload)]);
  if (!isHexString(signature, 65)) {
    throw Object.assign(new Error("your wallet answered with something that is not a signature; nothing was sent"), {
      hint: "try again, or use secret words on this portal instead",
    });
  }
  return signature;
}
