// Small page helpers shared by the pages: status lines, and getting the secret words ready
// (create, restore or unlock) before anything is signed.
import { hasVault, isUnlocked, newWords, store, unlock } from "./vault.js";

export const $ = (id) => document.getElementById(id);

/** A new `tag` element with `text` (if given) as its text and `className` (if given). */
export function element(tag, text, className) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  if (className) el.className = className;
  return el;
}

/** A chain time (unix seconds: a number, bigint or decimal string) in the reader's words:
 *  the day, or with `withTime` the day and time; null when JavaScript has no date for it
 *  (past year 275760: the chain's times are uint64, so "never" is often 2^64 - 1), for the
 *  caller to say there is no end date in words. */
export function chainDate(unix, { withTime = false } = {}) {
  const when = new Date(Number(unix) * 1000);
  if (Number.isNaN(when.getTime())) return null;
  return withTime ? when.toLocaleString() : when.toLocaleDateString();
}

/** Show `text` in element `id` as `kind` ("ok", "refused" or plain). */
export function say(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = kind;
}

/** A plain sentence for an error (the portal's message and hint, or the error's text). */
export function sentence(error) {
  const text = error?.message ?? String(error);
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return error?.hint ? `${first}. What to do: ${error.hint}.` : `${first}.`;
}

function once(form, handler) {
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await handler();
        resolve();
      } catch (error) {
        say("status", sentence(error), "refused");
      }
    });
  });
}

function showWords(words) {
  const list = $("words-list");
  list.replaceChildren(...words.split(" ").map((word) => Object.assign(document.createElement("li"), { textContent: word })));
  $("words-shown").hidden = false;
  $("words-done").focus();
  return new Promise((resolve) =>
    $("words-done").addEventListener("click", () => {
      list.replaceChildren();
      $("words-shown").hidden = true;
      resolve();
    }),
  );
}

/** Resolve once the secret words are unlocked in this page: unlock the stored ones, or let
 *  the person make new ones or restore theirs. */
export async function ready() {
  if (isUnlocked()) return;
  if (hasVault()) {
    $("unlock").hidden = false;
    $("unlock-passphrase").focus();
    await once($("unlock-form"), async () => {
      say("status", "Unlocking…");
      await unlock($("unlock-passphrase").value);
      $("unlock-passphrase").value = "";
      say("status", "");
    });
    $("unlock").hidden = true;
    return;
  }
  $("identity-none").hidden = false;
  let made = null;
  const create = once($("create-form"), async () => {
    const passphrase = $("create-passphrase").value;
    if (passphrase !== $("create-passphrase2").value) throw new Error("the two passphrases are not the same");
    say("status", "Making your secret words…");
    made = newWords();
    await store(made, passphrase);
    $("create-passphrase").value = $("create-passphrase2").value = "";
  });
  const restore = once($("restore-form"), async () => {
    say("status", "Restoring…");
    await store($("restore-words").value, $("restore-passphrase").value);
    $("restore-words").value = $("restore-passphrase").value = "";
  });
  await Promise.race([create, restore]);
  $("identity-none").hidden = true;
  say("status", "");
  if (made !== null) await showWords(made);
}
