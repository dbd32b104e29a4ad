// A consent request: check the policy text against the ledger, show it, then accept (sign
// here, the portal relays it) or decline (nothing is signed or sent). A link with a
// recipient asks for a disclosure consent (a DisclosureGrant under the RECIPIENT's policy);
// a renewal (data-previous-*) also shows what changed since the version agreed to before.
// The person signs with their secret words or an injected wallet (signer.js).
import { get, relay } from "../api.js";
import { signDisclosureGrant } from "../disclosure.js";
import { DEFAULT_DEADLINE, nextNonce, signGrant } from "../eip712.js";
import { fetchPolicy } from "../policy.js";
import { policyDiff } from "../policydiff.js";
import { identityFor, ready, signerFor } from "../signer.js";
import { $, chainDate, say, sentence } from "../ui.js";

const REFUSED = {
  unreachable: (uri) => `The policy text could not be fetched from ${uri}, so you cannot agree to it now. Try again later.`,
  tampered: () =>
    "Refused: the policy text at this address is not the text the organization published on the ledger. It may have been changed. Do not agree to it; tell the organization.",
};

// The QR code of this page (the portal's GET /qr), fetched when the person opens the
// "on your phone" box, not on every visit.
function offerOnPhone() {
  const box = $("phone");
  const image = $("phone-qr");
  image.addEventListener("error", () =>
    say("phone-check", "The code could not be drawn here. Copy this page's address to your phone instead.", "refused"),
  );
  box.addEventListener("toggle", () => {
    if (!box.open || image.getAttribute("src")) return;
    const page = new URL(window.location.href);
    page.hash = "";
    image.src = `/qr?link=${encodeURIComponent(page.href)}`;
  });
}

async function checkPolicy(link) {
  let text;
  try {
    text = await fetchPolicy(link.uri, link.hash);
  } catch (error) {
    say("policy-check", (REFUSED[error.reason] ?? REFUSED.unreachable)(link.uri), "refused");
    return null;
  }
  $("policy-text").textContent = text;
  $("policy-text").hidden = false;
  say("policy-check", "This is the exact text the organization published on the ledger.", "ok");
  return text;
}

/** A renewal: the text agreed to before, checked the same way, and the line diff. */
async function showChanges(previous, text) {
  let before;
  try {
    before = await fetchPolicy(previous.uri, previous.hash);
  } catch (error) {
    const why = error.reason === "tampered" ? "is not the text that was on the ledger" : "could not be fetched";
    say("diff-check", `The version ${previous.version} text you agreed to before ${why}, so what changed cannot be shown. The new text above is checked: read it in full.`, "refused");
    return;
  }
  const { added, removed, nodes } = policyDiff(before, text);
  $("policy-diff").replaceChildren(...nodes);
  $("policy-diff").hidden = false;
  const changed = added + removed === 0 ? "The text did not change." : `${added} ${added === 1 ? "line" : "lines"} added, ${removed} removed.`;
  say("diff-check", `Both texts are the ones published on the ledger (versions ${previous.version} and ${$("main").dataset.version}). ${changed}`, "ok");
}

async function sign(main, link) {
  const chainId = main.dataset.chainId;
  const config = await get("config");
  const me = identityFor(chainId, link.org, config.organizations);
  const terms = { identity: me.address, purpose: link.purpose, category: link.category };
  const agreed = { expiry: link.expiry, policyVersion: link.version, policyHash: link.hash };
  if (link.recipient) {
    const key = { ...terms, discloser: link.org, recipient: link.recipient };
    const state = await get("disclosure", { ...key, identity: me.address });
    const wallet = signerFor(me, state.owner);
    const deadline = BigInt(state.chainTime) + DEFAULT_DEADLINE;
    return signDisclosureGrant(wallet, { ...key, ...agreed, nonce: nextNonce(state.nonce, state.chainTime), deadline }, chainId, main.dataset.ledger);
  }
  const state = await get("consent", { identity: me.address, org: link.org, purpose: link.purpose, category: link.category });
  const wallet = signerFor(me, state.owner);
  const deadline = BigInt(state.chainTime) + DEFAULT_DEADLINE;
  return signGrant(wallet, { ...terms, organization: link.org, ...agreed, nonce: nextNonce(state.nonce, state.chainTime), deadline }, chainId, main.dataset.ledger);
}

export async function start(main) {
  const data = main.dataset;
  const link = {
    org: data.org,
    recipient: data.recipient || null,
    purpose: data.purpose,
    category: data.category,
    version: data.version,
    hash: data.hash.toLowerCase(),
    uri: data.uri,
    expiry: data.expiry || null,
  };
  const previous = data.previousVersion ? { version: data.previousVersion, hash: data.previousHash, uri: data.previousUri } : null;
  for (const time of document.querySelectorAll("time[data-unix]")) {
    time.textContent = chainDate(time.dataset.unix, { withTime: true }) ?? "you take it back (no end date)";
  }
  offerOnPhone();
  $("decline").addEventListener("click", () => {
    $("accept").disabled = true;
    say("answer", "You said no. Nothing was signed or sent. You can close this page.", "ok");
  });
  const text = await checkPolicy(link);
  if (text === null) return;
  if (previous) await showChanges(previous, text);
  $("accept").disabled = false;
  $("accept").addEventListener("click", async () => {
    $("accept").disabled = true;
    try {
      await ready(main.dataset.chainId);
      say("answer", "Signing your consent in this browser…");
      const signed = await sign(main, link);
      say("answer", "Sending your signed consent to the ledger…");
      const done = await relay(signed);
      const what = link.recipient ? "you agreed that your data may be passed on" : "you agreed";
      say("answer", `Done: ${what}. It is recorded on the ledger (block ${done.blockNumber}). You can take it back any time on “My consents”.`, "ok");
    } catch (error) {
      say("answer", sentence(error), "refused");
      $("accept").disabled = false;
    }
  });
}
