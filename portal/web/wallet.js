// An injected EIP-1193 wallet (window.ethereum: a browser extension or a wallet app's
// browser). The person's identity is then the wallet's account itself: no pairwise
// derivation, so every organization sees the same address. Signing goes through the wallet
// (eth_signTypedData_v4, EIP-712); the wallet's chain must be the ledger's (eth_chainId).
import { getAddress } from "ethers";

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
    if (error?.code === 4001) throw new Error("you declined the request in your wallet; nothing was signed or sent");
    throw new Error(`your wallet refused: ${error?.message ?? error}`);
  }
}

/** Throw in plain words unless the wallet is on chain `chainId` (decimal or 0x hex). */
export async function checkChain(chainId) {
  const want = BigInt(chainId);
  const got = BigInt(await request("eth_chainId"));
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
  await checkChain(chainId);
  return getAddress(accounts[0]);
}

/** The account the wallet already shares with this page (no prompt), or null. */
export async function sharedAccount() {
  if (!hasWallet()) return null;
  const accounts = await request("eth_accounts");
  return Array.isArray(accounts) && accounts.length > 0 ? getAddress(accounts[0]) : null;
}

/** eth_signTypedData_v4 by `address` of an EIP-712 payload ({types (with EIP712Domain),
 *  primaryType, domain, message}, integers as decimal strings); checks the chain first.
 *  Returns the 65-byte signature as 0x hex. */
export async function signTypedDataV4(address, payload, chainId) {
  await checkChain(chainId);
  return request("eth_signTypedData_v4", [address, JSON.stringify(payload)]);
}
