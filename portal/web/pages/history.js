// Who used my data: the history of the person's identities, filterable, downloadable.
import { get } from "../api.js";
import { identityFor } from "../pairwise.js";
import { $, ready, say, sentence } from "../ui.js";
import { root } from "../vault.js";

function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text ?? "";
  return el;
}

function short(address) {
  return `${address.slice(0, 8)}…${address.slice(-4)}`;
}

function options(select, values, label) {
  for (const value of [...new Set(values)].sort()) {
    const option = cell("option", label(value));
    option.value = value;
    select.append(option);
  }
}

function receiptCell(row) {
  const td = cell("td");
  if (row.action === "grant") {
    const link = cell("a", "Consent receipt");
    link.href = `/api/receipt?${new URLSearchParams({ tx: row.txHash, log: row.logIndex })}`;
    link.download = "consent-receipt.json";
    td.append(link);
  }
  return td;
}

function table(rows) {
  const titles = ["When", "Organization", "What happened", "Which data", "For", "Proof"];
  const header = cell("tr");
  header.append(...titles.map((title) => Object.assign(cell("th", title), { scope: "col" })));
  const head = cell("thead");
  head.append(header);
  const body = cell("tbody");
  for (const row of rows) {
    const line = cell("tr");
    line.dataset.action = row.action;
    line.append(
      cell("td", new Date(row.time * 1000).toLocaleString()),
      cell("td", short(row.organization)),
      cell("td", row.actionWords + (row.recipient ? ` (to ${short(row.recipient)})` : "")),
      cell("td", row.categoryWords),
      cell("td", row.purposeWords),
      receiptCell(row),
    );
    body.append(line);
  }
  const wrap = cell("div");
  wrap.className = "table-wrap";
  const t = cell("table");
  t.append(cell("caption", `${rows.length} ${rows.length === 1 ? "event" : "events"}`), head, body);
  wrap.append(t);
  return wrap;
}

export async function start(main) {
  try {
    await ready();
    say("status", "Reading your history from the ledger…");
    const config = await get("config");
    const identities = config.organizations.map((org) => identityFor(root(), main.dataset.chainId, org, config.organizations).address);
    if (identities.length === 0) {
      say("status", "No organization is on this ledger yet.");
      return;
    }
    const query = new URLSearchParams(identities.map((address) => ["identity", address]));
    const { history } = await get("history", [...query]);
    say("status", "");
    if (history.length === 0) {
      $("history").replaceChildren(cell("p", "Nothing is recorded about you yet."));
      return;
    }
    const organization = $("filter-organization");
    const action = $("filter-action");
    options(organization, history.map((row) => row.organization), short);
    options(action, history.map((row) => row.action), (value) => history.find((row) => row.action === value).actionWords);
    const show = () =>
      $("history").replaceChildren(
        table(history.filter((row) => (!organization.value || row.organization === organization.value) && (!action.value || row.action === action.value))),
      );
    organization.addEventListener("change", show);
    action.addEventListener("change", show);
    $("history-filter").hidden = false;
    show();
    $("download-csv").href = `/api/history?${query}&format=csv`;
    $("download-json").href = `/api/history?${query}&format=json`;
    $("downloads").hidden = false;
  } catch (error) {
    say("status", sentence(error), "refused");
  }
}
