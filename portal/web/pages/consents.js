// "My consents": every consent of the person's identities, and withdraw with one click
// (a Withdrawal signed here, relayed by the portal); their disclosure consents (one
// organization passing their data to another), withdrawn the same way (a DisclosureWithdrawal).
// The person signs with their secret words or an injected wallet (signer.js).
import { get, relay } from "../api.js";
import { signDisclosureWithdrawal } from "../disclosure.js";
import { DEFAULT_DEADLINE, nextNonce, signErasure, signWithdrawal } from "../eip712.js";
import { identities, ready, signerFor } from "../signer.js";
import { $, chainDate, element, say, sentence } from "../ui.js";

/** A chain time as a day; "no set day" past JavaScript's last date (never for these times:
 *  an erasure's due and confirmation times are a block's time plus days). */
function day(unix) {
  return chainDate(unix) ?? "no set day";
}

function erasureWords(consent) {
  if (consent.erasureConfirmedAt) return `The organization confirmed on ${day(consent.erasureConfirmedAt)} that it erased your data.`;
  if (consent.erasureRequested) return `You asked the organization to erase your data. It must confirm by ${day(consent.erasureDueAt)}.`;
  return null;
}

function short(address) {
  return `${address.slice(0, 8)}…${address.slice(-4)}`;
}

/** A row's button: `text` on it, `label` for a screen reader, `onClick(button)`. */
function actionButton(text, label, onClick, className) {
  const button = element("button", text, className);
  button.type = "button";
  button.setAttribute("aria-label", label);
  button.addEventListener("click", () => onClick(button));
  return button;
}

/** The renewal page: the consent link under the new version, showing what changed since
 *  the version agreed to. */
function renewal(consent, text) {
  const renew = element("a", text);
  renew.href = `${consent.renew}&previous=${consent.policyVersion}`;
  const line = element("p");
  line.append(renew);
  return line;
}

function disclosureRow(consent, onWithdraw) {
  const item = element("article", undefined, "consent disclosure");
  item.dataset.state = consent.state;
  item.dataset.consentId = consent.consentId;
  const what = `your ${consent.categoryWords}, for ${consent.purposeWords}`;
  item.append(
    element("h3", `${short(consent.discloser)} may pass to ${short(consent.recipient)}: ${what}`),
    element("p", consent.stateWords, "state"),
    element("p", `Under the receiving organization's policy version ${consent.policyVersion}.`, "policy"),
  );
  if (consent.erasureOrganization) {
    const confirmed = consent.erasureConfirmedAt ? `; it confirmed on ${day(consent.erasureConfirmedAt)}` : "";
    item.append(element("p", `You asked ${short(consent.erasureOrganization)} to erase your data${confirmed}.`, "erasure"));
  }
  if (consent.renew) item.append(renewal(consent, "Read what changed in the receiving organization's policy and renew"));
  if (consent.canWithdraw) {
    const label = `Take back your consent to pass on your ${consent.categoryWords} for ${consent.purposeWords}`;
    item.append(actionButton("Take back this consent", label, (button) => onWithdraw(consent, button)));
  }
  return item;
}

function row(consent, onWithdraw, onErase) {
  const item = element("article", undefined, "consent");
  item.dataset.state = consent.state;
  item.dataset.consentId = consent.consentId;
  item.append(
    element("h2", `${short(consent.organization)}: your ${consent.categoryWords}, for ${consent.purposeWords}`),
    element("p", consent.stateWords, "state"),
  );
  const erasure = erasureWords(consent);
  if (erasure) item.append(element("p", erasure, "erasure"));
  if (consent.renew) item.append(renewal(consent, "Read the new policy and renew this consent"));
  if (consent.canWithdraw) {
    const label = `Take back your consent: ${consent.categoryWords} for ${consent.purposeWords}`;
    item.append(actionButton("Take back this consent", label, (button) => onWithdraw(consent, button)));
  }
  if (consent.canErase) {
    const label = "Ask this organization to erase your data (final: ends every consent with it)";
    item.append(actionButton("Ask them to erase my data", label, (button) => onErase(consent, button), "secondary"));
  }
  return item;
}

export async function start(main) {
  const chainId = main.dataset.chainId;
  await ready(chainId);
  const config = await get("config");
  const mine = new Map(); // address -> identity (with a wallet, one address for every organization)
  for (const identity of identities(chainId, config.organizations)) mine.set(identity.address, identity);

  // One signed action from a row's button: sign here (`signed()` returns the signed request),
  // relay it, say what happened (`done(answer)`, the relay's answer), and read the list again.
  async function act(button, signing, signed, done) {
    button.disabled = true;
    try {
      say("status", signing);
      const answer = await relay(await signed());
      say("status", done(answer), "ok");
      await show();
    } catch (error) {
      say("status", sentence(error), "refused");
      button.disabled = false;
    }
  }

  // The consent's state (nonce, owner, chain time) for the identity named in `consent`.
  async function consentState(consent) {
    const me = mine.get(consent.identity);
    const state = await get("consent", { identity: me.address, org: consent.organization, purpose: consent.purpose, category: consent.category });
    return [me, state, BigInt(state.chainTime) + DEFAULT_DEADLINE];
  }

  function withdraw(consent, button) {
    return act(
      button,
      "Signing your withdrawal in this browser…",
      async () => {
        const [me, state, deadline] = await consentState(consent);
        const { organization, purpose, category } = consent;
        const nonce = nextNonce(state.nonce, state.chainTime);
        return signWithdrawal(signerFor(me, state.owner), { identity: me.address, organization, purpose, category, nonce, deadline }, chainId, main.dataset.ledger);
      },
      () => "Done: you took back this consent. The organization may no longer use this data for this purpose.",
    );
  }

  function withdrawDisclosure(consent, button) {
    return act(
      button,
      "Signing your withdrawal in this browser…",
      async () => {
        const me = mine.get(consent.identity);
        const key = { identity: me.address, discloser: consent.discloser, recipient: consent.recipient, purpose: consent.purpose, category: consent.category };
        const state = await get("disclosure", key);
        const replay = { nonce: nextNonce(state.nonce, state.chainTime), deadline: BigInt(state.chainTime) + DEFAULT_DEADLINE };
        return signDisclosureWithdrawal(signerFor(me, state.owner), { ...key, ...replay }, chainId, main.dataset.ledger);
      },
      () => "Done: you took back this consent. The organization may no longer pass this data on.",
    );
  }

  function erase(consent, button) {
    return act(
      button,
      "Signing your erasure request in this browser…",
      async () => {
        const [me, state, deadline] = await consentState(consent);
        return signErasure(signerFor(me, state.owner), { identity: me.address, organization: consent.organization, deadline }, chainId, main.dataset.ledger);
      },
      (done) => `Done: you asked the organization to erase your data. It must confirm by ${day(done.dueAt)}.`,
    );
  }

  async function show() {
    const list = $("consents");
    if (mine.size === 0) {
      list.replaceChildren(element("p", "No organization is on this ledger yet."));
      return;
    }
    const answer = await get("consents", [...mine.keys()].map((address) => ["identity", address]));
    $("disclosures").replaceChildren(...answer.disclosures.map((consent) => disclosureRow(consent, withdrawDisclosure)));
    $("disclosures-section").hidden = answer.disclosures.length === 0;
    if (answer.consents.length === 0) {
      list.replaceChildren(answer.disclosures.length === 0 ? element("p", "You have not given any consent yet.") : "");
      return;
    }
    list.replaceChildren(...answer.consents.map((consent) => row(consent, withdraw, erase)));
  }

  try {
    say("status", "Reading your consents from the ledger…");
    await show();
    say("status", "");
  } catch (error) {
    say("status", sentence(error), "refused");
  }
}
