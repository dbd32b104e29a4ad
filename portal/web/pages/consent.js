// A consent request: check the policy text against the ledger, show it, then accept (sign a
// Grant here, the portal relays it) or decline (nothing is signed or sent).
import { sha256 } from "ethers";
import { get, relay } from "../api.js";
import { DEFAULT_DEADLINE, nextNonce, signGrant } from "../eip712.js";
import { currentKey, identityFor } from "../pairwise.js";
import { $, ready, say, sentence } from "../ui.js";
import { root } from "../vault.js";

async function checkPolicy(link) {
  let bytes;
  try {
    const response = await fetch(link.uri, { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" });
    if (!response.ok) throw new Error(`it answered ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    say("policy-check", `The policy text could not be fetched from ${link.uri}, so you cannot agree to it now. Try again later.`, "refused");
    return false;
  }
  if (sha256(bytes).toLowerCase() !== link.hash) {
    say("policy-check", "Refused: the policy text at this address is not the text the organization published on the ledger. It may have been changed. Do not agree to it; tell the organization.", "refused");
    return false;
  }
  $("policy-text").textContent = new TextDecoder().decode(bytes);
  $("policy-text").hidden = false;
  say("policy-check", "This is the exact text the organization published on the ledger.", "ok");
  return true;
}

export async function start(main) {
  const link = {
    org: main.dataset.org,
    purpose: main.dataset.purpose,
    category: main.dataset.category,
    version: main.dataset.version,
    hash: main.dataset.hash.toLowerCase(),
    uri: main.dataset.uri,
    expiry: main.dataset.expiry || null,
  };
  for (const time of document.querySelectorAll("time[data-unix]")) {
    time.textContent = new Date(Number(time.dataset.unix) * 1000).toLocaleString();
  }
  $("decline").addEventListener("click", () => {
    $("accept").disabled = true;
    say("answer", "You said no. Nothing was signed or sent. You can close this page.", "ok");
  });
  if (!(await checkPolicy(link))) return;
  $("accept").disabled = false;
  $("accept").addEventListener("click", async () => {
    $("accept").disabled = true;
    try {
      await ready();
      say("answer", "Signing your consent in this browser…");
      const config = await get("config");
      const me = identityFor(root(), main.dataset.chainId, link.org, config.organizations);
      const state = await get("consent", { identity: me.address, org: link.org, purpose: link.purpose, category: link.category });
      const signed = await signGrant(
        currentKey(me, root(), state.owner).wallet,
        {
          identity: me.address,
          organization: link.org,
          purpose: link.purpose,
          category: link.category,
          expiry: link.expiry,
          policyVersion: link.version,
          policyHash: link.hash,
          nonce: nextNonce(state.nonce, state.chainTime),
          deadline: BigInt(state.chainTime) + DEFAULT_DEADLINE,
        },
        main.dataset.chainId,
        main.dataset.ledger,
      );
      say("answer", "Sending your signed consent to the ledger…");
      const done = await relay(signed);
      say("answer", `Done: you agreed. It is recorded on the ledger (block ${done.blockNumber}). You can take it back any time on “My consents”.`, "ok");
    } catch (error) {
      say("answer", sentence(error), "refused");
      $("accept").disabled = false;
    }
  });
}
