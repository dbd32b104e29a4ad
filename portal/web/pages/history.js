// Who used my data: the history of the person's identities, filterable, downloadable, with a
// chart of the uses and disclosures among the rows the filters keep.
import { get } from "../api.js";
import { drawChart } from "../chart.js";
import { identities as identitiesOf, ready } from "../signer.js";
import { $, chainDate, element, say, sentence } from "../ui.js";

function short(address) {
  return `${address.slice(0, 8)}…${address.slice(-4)}`;
}

function options(select, values, label) {
  for (const value of [...new Set(values)].sort()) {
    const option = element("option", label(value));
    option.value = value;
    select.append(option);
  }
}

function receiptCell(row) {
  const td = element("td");
  if (row.action === "grant") {
    const link = element("a", "Consent receipt");
    link.href = `/api/receipt?${new URLSearchParams({ tx: row.txHash, log: row.logIndex })}`;
    link.download = "consent-receipt.json";
    td.append(link);
  }
  return td;
}

function table(rows) {
  const titles = ["When", "Organization", "What happened", "Which data", "For", "Proof"];
  const header = element("tr");
  header.append(...titles.map((title) => Object.assign(element("th", title), { scope: "col" })));
  const head = element("thead");
  head.append(header);
  const body = element("tbody");
  for (const row of rows) {
    const line = element("tr");
    line.dataset.action = row.action;
    line.append(
      element("td", chainDate(row.time, { withTime: true })),
      element("td", short(row.organization)),
      element("td", row.actionWords + (row.recipient ? ` (to ${short(row.recipient)})` : "")),
      element("td", row.categoryWords),
      element("td", row.purposeWords),
      receiptCell(row),
    );
    body.append(line);
  }
  const wrap = element("div");
  wrap.className = "table-wrap";
  const t = element("table");
  t.append(element("caption", `${rows.length} ${rows.length === 1 ? "event" : "events"}`), head, body);
  wrap.append(t);
  return wrap;
}

export async function start(main) {
  try {
    await ready(main.dataset.chainId);
    say("status", "Reading your history from the ledger…");
    const config = await get("config");
    // secret words: one pairwise identity per organization; a wallet: its one account
    const identities = [...new Set(identitiesOf(main.dataset.chainId, config.organizations).map((i) => i.address))];
    if (identities.length === 0) {
      say("status", "No organization is on this ledger yet.");
      return;
    }
    const query = new URLSearchParams(identities.map((address) => ["identity", address]));
    const { history } = await get("history", [...query]);
    say("status", "");
    if (history.length === 0) {
      $("history").replaceChildren(element("p", "Nothing is recorded about you yet."));
      return;
    }
    const organization = $("filter-organization");
    const action = $("filter-action");
    options(organization, history.map((row) => row.organization), short);
    options(action, history.map((row) => row.action), (value) => history.find((row) => row.action === value).actionWords);
    const chartBy = $("chart-by");
    let shown = [];
    const chart = () => {
      const figure = $("history-chart");
      const used = shown.filter((row) => row.action === "use" || row.action === "disclose");
      figure.hidden = false;
      if (used.length === 0) {
        figure.replaceChildren(element("p", "No use or disclosure of your data matches these choices, so there is no chart."));
        return;
      }
      const byPurpose = chartBy.value === "purpose";
      drawChart(figure, used, {
        seriesOf: (row) => (byPurpose ? row.purpose : row.organization),
        seriesLabel: (key) => (byPurpose ? (used.find((row) => row.purpose === key)?.purposeWords ?? key) : short(key)),
        what: byPurpose ? "purpose" : "organization",
      });
    };
    const show = () => {
      shown = history.filter((row) => (!organization.value || row.organization === organization.value) && (!action.value || row.action === action.value));
      $("history").replaceChildren(table(shown));
      chart();
    };
    organization.addEventListener("change", show);
    action.addEventListener("change", show);
    chartBy.addEventListener("change", chart);
    let width = 0;
    new ResizeObserver(([entry]) => {
      const now = Math.round(entry.contentRect.width);
      if (now !== width && shown.length > 0) {
        width = now;
        chart();
      }
    }).observe($("history"));
    $("history-filter").hidden = false;
    show();
    $("download-csv").href = `/api/history?${query}&format=csv`;
    $("download-json").href = `/api/history?${query}&format=json`;
    $("downloads").hidden = false;
  } catch (error) {
    say("status", sentence(error), "refused");
  }
}
