// Guardians: appoint or revoke a guardian (an ERC-1056 sigAuth delegate) for the person's
// identities. Each change is signed here with the key that owns the identity (a raw-hash
// ERC-1056 signature, signer.js) and relayed by the portal, which pays; one signed change per
// identity. With secret words the person has one identity per organization (pairwise.js): a
// guardian is appointed on the identities of the organizations the person ticks (all by
// default), because a guardian acts with an organization only through the identity that
// organization knows. A wallet cannot sign these changes (signer.js says why).
import { encodeBytes32String, getAddress, isAddress } from "ethers";
import { get, post } from "../api.js";
import { identities, mode, ready, signDelegateChange } from "../signer.js";
import { $, chainDate, element, say, sentence } from "../ui.js";

const GUARDIAN = encodeBytes32String("sigAuth");
const DAY = 86400n;

function short(address) {
  return `${address.slice(0, 8)}…${address.slice(-4)}`;
}

/** "until <date>" for a guardian valid until `validTo` (unix seconds); an appointment past
 *  JavaScript's last date (year 275760: ERC-1056 takes any uint256 validity) has no end. */
function until(validTo) {
  const day = chainDate(validTo);
  return day === null ? "with no end date (until you remove them)" : `until ${day}`;
}

/** POST one signed change to /api/guardians/relay; throws the portal's sentence and hint. */
async function relayChange(signed) {
  return post("guardians/relay", JSON.stringify(signed));
}

/** Guardians by address: { address, validTo (latest), identities: [identity address] }. */
function byGuardian(answer) {
  const found = new Map();
  for (const entry of answer.identities) {
    for (const guardian of entry.guardians) {
      const seen = found.get(guardian.address) ?? { address: guardian.address, validTo: 0, identities: [] };
      seen.validTo = Math.max(seen.validTo, guardian.validTo);
      seen.identities.push(entry.identity);
      found.set(guardian.address, seen);
    }
  }
  return [...found.values()];
}

export async function start(main) {
  const chainId = main.dataset.chainId;
  await ready(chainId);
  const config = await get("config");
  const mine = identities(chainId, config.organizations);
  const names = new Map(mine.map((identity) => [identity.address, identity.organization]));

  if (mode() === "wallet") {
    $("wallet-guardians").hidden = false;
  } else {
    const orgs = $("guardian-orgs");
    for (const [i, identity] of mine.entries()) {
      const box = Object.assign(document.createElement("input"), { type: "checkbox", id: `guardian-org-${i}`, checked: true });
      box.dataset.identity = identity.address;
      const label = element("label", `Organization ${short(identity.organization)} (your code ${short(identity.address)})`);
      label.htmlFor = box.id;
      label.className = "check";
      label.prepend(box);
      orgs.append(label);
    }
    $("appoint").hidden = mine.length === 0;
  }

  async function change(identity, action, delegate, validity) {
    const state = await get("guardians/nonce", { identity: identity.address });
    const signed = signDelegateChange(
      identity,
      { action, delegateType: GUARDIAN, delegate, validity, nonce: state.nonce, registry: state.registry, chainId: state.chainId },
      state.owner,
    );
    return relayChange(signed);
  }

  /** After a failure part-way through one change per organization: say what was done, and
   *  what failed, and list the guardians as the ledger has them now. */
  async function partly(done, total, what, error) {
    const sofar = done === 0 ? "" : `${what} with ${done} of ${total} organizations; the next one failed. `;
    say("status", sofar + sentence(error), "refused");
    if (done > 0) await show().catch(() => {}); // the failure above is what the person must read
  }

  async function revoke(guardian, button) {
    button.disabled = true;
    let done = 0;
    const total = guardian.identities.length;
    try {
      for (const address of guardian.identities) {
        say("status", `Signing the removal in this browser (${done + 1} of ${total})…`);
        await change(mine.find((identity) => identity.address === address), "revokeDelegate", guardian.address);
        done += 1;
      }
      say("status", `Done: ${short(guardian.address)} is no longer your guardian. They can no longer sign anything for you.`, "ok");
      await show();
      $("guardians-title").focus(); // the button is gone: keyboard users go on from the list
    } catch (error) {
      await partly(done, total, `${short(guardian.address)} was removed as your guardian`, error);
      button.disabled = false;
      if (button.isConnected) button.focus(); // disabling it dropped the keyboard focus
      else $("guardians-title").focus();
    }
  }

  async function show() {
    const list = $("guardian-list");
    if (mine.length === 0) {
      list.replaceChildren(element("p", "No organization is on this ledger yet."));
      return;
    }
    const unique = [...new Set(mine.map((identity) => identity.address))];
    const size = Number(main.dataset.maxIdentities); // the portal's limit per request
    const parts = [];
    for (let i = 0; i < unique.length; i += size) {
      parts.push(await get("guardians", unique.slice(i, i + size).map((address) => ["identity", address])));
    }
    const answer = { identities: parts.flatMap((part) => part.identities) };
    for (const entry of answer.identities.filter((e) => e.deactivated)) {
      const box = document.querySelector(`#guardian-orgs input[data-identity="${entry.identity}"]`);
      if (box && !box.disabled) {
        Object.assign(box, { checked: false, disabled: true });
        box.parentElement.append(" (this code was closed: nobody can act for it)");
      }
    }
    const guardians = byGuardian(answer);
    if (guardians.length === 0) {
      list.replaceChildren(element("p", "You have no guardian."));
      return;
    }
    list.replaceChildren(
      ...guardians.map((guardian) => {
        const item = element("article", undefined, "guardian");
        item.dataset.guardian = guardian.address;
        const orgs = guardian.identities.map((address) => short(names.get(address))).join(", ");
        item.append(
          element("h3", `Guardian ${guardian.address}`),
          element("p", `Can sign for you ${until(guardian.validTo)}, ${mode() === "wallet" ? "for your wallet's address, with every organization" : `with ${guardian.identities.length === 1 ? "organization" : "organizations"} ${orgs}`}.`),
        );
        if (mode() !== "wallet") {
          const button = element("button", "Remove this guardian", "secondary");
          button.type = "button";
          button.setAttribute("aria-label", `Remove guardian ${guardian.address}`);
          button.addEventListener("click", () => revoke(guardian, button));
          item.append(button);
        }
        return item;
      }),
    );
  }

  $("appoint-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = $("appoint-form").querySelector("button[type=submit]");
    submit.disabled = true;
    let done = 0;
    let total = 0;
    let guardian = null;
    try {
      const text = $("guardian-address").value.trim();
      if (!isAddress(text)) throw Object.assign(new Error(`“${text}” is not an address`), { hint: "paste the guardian's address: 0x followed by 40 letters and digits" });
      guardian = getAddress(text);
      const days = Number($("guardian-days").value);
      const max = Number(main.dataset.maxDays);
      if (!Number.isInteger(days) || days < 1 || days > max) throw new Error(`a guardian is appointed for 1 to ${max} days`);
      const chosen = [...document.querySelectorAll("#guardian-orgs input:checked")].map((box) => box.dataset.identity);
      if (chosen.length === 0) throw new Error("tick at least one organization");
      if (chosen.includes(guardian)) throw new Error("you cannot be your own guardian");
      total = chosen.length;
      for (const address of chosen) {
        say("status", `Signing the appointment in this browser (${done + 1} of ${total})…`);
        await change(mine.find((identity) => identity.address === address), "addDelegate", guardian, BigInt(days) * DAY);
        done += 1;
      }
      say("status", `Done: ${short(guardian)} is your guardian for ${days} days with ${chosen.length} ${chosen.length === 1 ? "organization" : "organizations"}.`, "ok");
      $("guardian-address").value = "";
      await show();
    } catch (error) {
      await partly(done, total, `${guardian && short(guardian)} is your guardian`, error);
    } finally {
      submit.disabled = false;
      submit.focus(); // disabling it dropped the keyboard focus to the page's start
    }
  });

  say("status", "Reading your guardians from the ledger…");
  await show();
  say("status", "");
}
