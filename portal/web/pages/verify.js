// Check a consent receipt: the person picks the file, the portal checks it against the ledger
// (POST /api/verify, CSRF double submit) and the page says the outcome in plain words. The
// file holds no secret; the secret words are not needed (nor unlocked) here.
import { post } from "../api.js";
import { $, element, say, sentence } from "../ui.js";

async function check(text) {
  return (await post("verify", text)).receipts;
}

function verdict(found, number, count) {
  const card = element("article", undefined, `card verdict ${found.ok ? "genuine" : "error"}`);
  card.dataset.kind = found.kind;
  const title = count > 1 ? `Receipt ${number}: ${found.headline}` : found.headline;
  const heading = element("h2", title, found.ok ? "ok" : "refused");
  heading.tabIndex = -1;
  card.append(heading, element("p", found.explanation));
  const details = element("details");
  details.append(element("summary", `Every check (${found.checks.length})`));
  const list = element("ul", undefined, "checks");
  for (const item of found.checks) {
    const line = element("li", `${item.label}: ${item.ok ? "matches" : "DOES NOT MATCH"} (${item.detail})`);
    line.dataset.ok = String(item.ok);
    list.append(line);
  }
  details.append(list, element("p", `Receipt ${found.receiptId}`, "receipt-id"));
  card.append(details);
  return card;
}

export async function start(main) {
  const form = $("verify-form");
  const input = $("receipt-file");
  const button = form.querySelector("button[type=submit]");
  const maxBytes = Number(main.dataset.maxBytes);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    $("verdicts").replaceChildren();
    if (!file) {
      say("status", "Pick a consent receipt file first.", "refused");
      return;
    }
    if (file.size > maxBytes) {
      say("status", `This file is larger than ${maxBytes / 1024} KB, so it is not a consent receipt. What to do: pick the receipt file the portal wrote.`, "refused");
      return;
    }
    button.disabled = true;
    say("status", "Checking the receipt against the ledger…");
    try {
      const found = await check(await file.text());
      $("verdicts").replaceChildren(...found.map((one, i) => verdict(one, i + 1, found.length)));
      say("status", "");
      $("verdicts").querySelector("h2").focus();
    } catch (error) {
      say("status", sentence(error), "refused");
    } finally {
      button.disabled = false;
      if (document.activeElement === document.body) button.focus(); // disabling it dropped the focus
    }
  });
}
