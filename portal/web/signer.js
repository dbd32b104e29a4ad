// Who signs for the person: their secret words (the default: one pairwise identity per
// organization, derived in this browser; pairwise.js) or an injected EIP-1193 wallet (the
// identity is the wallet's account, the same for every organization; wallet.js). The pages
// ask this module for the person's identities and for signatures, and never need to know
// which of the two it is. The choice is kept in localStorage (it is not a secret).
import { Signature, TypedDataEncoder, getAddress, solidityPackedKeccak256, verifyTypedData } from "ethers";
import { currentKey, identityFor as pairwiseIdentity } from "./pairwise.js";
import { $, ready as wordsReady, say, sentence } from "./ui.js";
import { hasVault, root } from "./vault.js";
import { checkChain, connect, hasWallet, sharedAccount, signTypedDataV4, watch } from "./wallet.js";

const MODE = "collective.signer.v1";
let account = null; // the wallet's account once connected in this page
let watching = false;

/** Once a wallet is in use, a switch of its account or network in the wallet reloads the page,
 *  which then shows (and signs as) the account the wallet uses now, or says its network is
 *  not the ledger's. */
function follow() {
  if (watching) return;
  watching = true;
  watch((what, value) => {
    if (mode() !== "wallet") return;
    if (what === "account" && account !== null && value?.toLowerCase() === account.toLowerCase()) return;
    say("status", `Your wallet switched to another ${what === "chain" ? "network" : "account"}: this page is loading again for it.`);
    window.location.reload();
  });
}

/** "wallet" when the person chose their wallet (and this browser still has one), else "words". */
export function mode() {
  return localStorage.getItem(MODE) === "wallet" && hasWallet() ? "wallet" : "words";
}

/** Use the injected wallet from now on: connect it (the wallet may ask the person) and check
 *  its chain. Returns the wallet's address. */
export async function useWallet(chainId) {
  account = await connect(chainId);
  localStorage.setItem(MODE, "wallet");
  follow();
  return account;
}

/** Go back to secret words (the wallet is not disconnected; it just is not used). */
export function useWords() {
  localStorage.removeItem(MODE);
  account = null;
}

/** Resolve once something can sign: the connected wallet on the ledger's chain, or the secret
 *  words unlocked (made, restored or unlocked by the person: ui.js). Where the browser has a
 *  wallet and nothing is set up yet, the person may choose "use my wallet" instead. */
export async function ready(chainId) {
  if (mode() === "wallet") {
    account = (await sharedAccount()) ?? (await connect(chainId));
    await checkChain(chainId);
    follow();
    return;
  }
  const choice = $("wallet-choice");
  if (!hasWallet() || choice === null || hasVault()) {
    await wordsReady();
    return;
  }
  choice.hidden = false;
  const chosen = new Promise((resolve) =>
    $("use-wallet").addEventListener("click", () =>
      useWallet(chainId).then(resolve, (error) => say("status", sentence(error), "refused")),
    ),
  );
  await Promise.race([wordsReady(), chosen]);
  choice.hidden = true;
  if (mode() === "wallet") $("identity-none").hidden = true;
}

/** The person's identity for `organization`: { organization, address, kind } plus, for secret
 *  words, the pairwise derivation path. `admitted` is the consortium's admission order. */
export function identityFor(chainId, organization, admitted = []) {
  if (mode() === "wallet") {
    if (account === null) throw new Error("your wallet is not connected yet");
    return { organization: getAddress(organization), address: account, kind: "wallet" };
  }
  const identity = pairwiseIdentity(root(), chainId, organization, admitted);
  return { organization: identity.organization, address: identity.address, path: identity.path, kind: "words" };
}

/** The person's identities for every organization (with a wallet, one address for all). */
export function identities(chainId, organizations) {
  return organizations.map((org) => identityFor(chainId, org, organizations));
}

function key(identity, owner) {
  return currentKey(identity, root(), owner ?? identity.address).wallet;
}

/** Sign EIP-712 typed data for `identity` (from identityFor). `typedData` is
 *  { domain, types, primaryType, message } (types without EIP712Domain; integers as BigInt
 *  or decimal strings); `owner` is the identity's owner on chain now (after key rotations;
 *  default the identity itself). Secret words sign with the key that owns the identity;
 *  a wallet with eth_signTypedData_v4 after checking its chain against the domain's.
 *  Returns { signature: 0x 65-byte hex, signer: checksummed address }. */
export async function signTypedData(identity, typedData, owner = identity.address) {
  const { domain, types, primaryType, message } = typedData;
  const fields = { ...types };
  delete fields.EIP712Domain; // ethers and eth_signTypedData_v4 payloads add it themselves
  if (identity.kind !== "wallet") {
    const wallet = key(identity, owner);
    return { signature: await wallet.signTypedData(domain, fields, message), signer: wallet.address };
  }
  if (getAddress(owner) !== account) {
    throw new Error(`this identity is now owned by ${getAddress(owner)}, not by your wallet's account ${account}`);
  }
  const payload = TypedDataEncoder.getPayload(domain, fields, message);
  if (payload.primaryType !== primaryType) throw new Error(`the typed data's primary type is ${payload.primaryType}, not ${primaryType}`);
  const now = await sharedAccount(); // a wallet that sent no accountsChanged is caught here
  if (now !== account) {
    throw Object.assign(new Error(`your wallet now uses ${now ? `account ${now}` : "no account"}, but this page was opened for ${account}: nothing was signed`), {
      hint: "reload the page to act as the account your wallet uses now",
    });
  }
  const signature = await signTypedDataV4(account, payload, domain.chainId);
  let signer = null;
  try {
    signer = verifyTypedData(domain, fields, message, signature);
  } catch {
    // not a signature any key makes: said below
  }
  if (signer !== account) {
    throw Object.assign(new Error(`your wallet's signature is not ${account}'s${signer ? ` (it is ${signer}'s)` : ""}, so the ledger would refuse it: nothing was sent`), {
      hint: "check which account your wallet signs with, reload the page and try again",
    });
  }
  return { signature, signer: account };
}

/** An object eip712.js's signGrant / signWithdrawal / signErasure take as their `wallet`:
 *  { address, signTypedData(domain, types, message) }, signing as `identity` with the key
 *  (or wallet) that owns it now (`owner`, from /api/consent). */
export function signerFor(identity, owner = identity.address) {
  const address = identity.kind === "wallet" ? account : key(identity, owner).address;
  return {
    address,
    signTypedData: async (domain, types, message) => {
      const [primaryType] = Object.keys(types).filter((name) => name !== "EIP712Domain");
      return (await signTypedData(identity, { domain, types, primaryType, message }, owner)).signature;
    },
  };
}

/** Sign an ERC-1056 addDelegate or revokeDelegate (contracts/DIDRegistry.sol):
 *  keccak256(0x19 0x00 registry nonce identity action delegateType delegate [validity]),
 *  signed as a raw hash, no EIP-191 prefix. Only secret words can: a wallet signs only
 *  prefixed messages and typed data, which the registry does not accept.
 *  `change` is { action, delegateType (0x bytes32), delegate, validity (seconds; add only),
 *  nonce, registry, chainId }. Returns the JSON object collective.did.signed.
 *  SignedDelegateChange.from_json reads. */
export function signDelegateChange(identity, change, owner = identity.address) {
  if (identity.kind === "wallet") {
    throw new Error("a wallet cannot sign guardian changes: the ledger's identity registry (ERC-1056) accepts only a raw-hash signature, which wallets do not make");
  }
  const types = ["bytes1", "bytes1", "address", "uint256", "address", "string", "bytes32", "address"];
  const values = ["0x19", "0x00", getAddress(change.registry), BigInt(change.nonce), identity.address, change.action, change.delegateType, getAddress(change.delegate)];
  if (change.action === "addDelegate") {
    types.push("uint256");
    values.push(BigInt(change.validity));
  }
  const wallet = key(identity, owner);
  const signature = Signature.from(wallet.signingKey.sign(solidityPackedKeccak256(types, values)));
  const signed = {
    kind: "delegateChange",
    action: change.action,
    chainId: BigInt(change.chainId).toString(),
    registry: getAddress(change.registry),
    identity: identity.address,
    delegateType: change.delegateType,
    delegate: getAddress(change.delegate),
    nonce: BigInt(change.nonce).toString(),
    signer: wallet.address,
    signature: { v: signature.v, r: signature.r, s: signature.s },
  };
  if (change.action === "addDelegate") signed.validity = BigInt(change.validity).toString();
  return signed;
}
