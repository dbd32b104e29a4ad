// A stacked bar chart of uses and disclosures over time, drawn as SVG in the page (no library,
// no inline style: colours come from portal.css classes). Bars are days, weeks, months or
// years: the finest unit that needs at most MAX_BARS bars for the span shown. The chart is
// an image with a title and a description in words; the table beside it stays the
// accessible equivalent with every row.
const SVG = "http://www.w3.org/2000/svg";
const MAX_BARS = 60;
const SERIES_CLASSES = 8; // .series-0 … .series-7 in portal.css
const HEIGHT = 220;
const MARGIN = { top: 12, right: 8, bottom: 36, left: 36 };
const UNITS = {
  day: { words: "per day", label: { day: "numeric", month: "short" } },
  week: { words: "per week (from Monday)", label: { day: "numeric", month: "short" } },
  month: { words: "per month", label: { month: "short", year: "numeric" } },
  year: { words: "per year", label: { year: "numeric" } },
};

function startOf(unit, date) {
  const d = new Date(date.getFullYear(), unit === "year" ? 0 : date.getMonth(), unit === "day" || unit === "week" ? date.getDate() : 1);
  if (unit === "week") d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}

function after(unit, date) {
  const d = new Date(date);
  if (unit === "day") d.setDate(d.getDate() + 1);
  else if (unit === "week") d.setDate(d.getDate() + 7);
  else if (unit === "month") d.setMonth(d.getMonth() + 1);
  else d.setFullYear(d.getFullYear() + 1);
  return d;
}

/** The bars for `rows` (each with `time` in unix seconds): `{unit, bars: [{start, end, rows}]}`,
 *  every period from the first row's to the last's, empty ones included. */
export function periods(rows) {
  const times = rows.map((row) => row.time * 1000);
  const first = new Date(times.reduce((a, b) => Math.min(a, b)));
  const last = new Date(times.reduce((a, b) => Math.max(a, b)));
  for (const unit of Object.keys(UNITS)) {
    const bars = [];
    for (let start = startOf(unit, first); start <= last && (bars.length <= MAX_BARS || unit === "year"); start = after(unit, start)) {
      bars.push({ start, end: after(unit, start), rows: [] });
    }
    if (bars.length > MAX_BARS && unit !== "year") continue;
    for (const row of rows) {
      const when = row.time * 1000;
      bars.find((bar) => bar.start <= when && when < bar.end)?.rows.push(row);
    }
    return { unit, bars };
  }
  throw new Error("unreachable: years always fit");
}

function node(tag, attributes = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceTop(max) {
  if (max <= 5) return { top: Math.max(max, 1), step: 1 };
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return { top: Math.ceil(max / step) * step, step };
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Draw the chart of `rows` into `figure` (an element; its content is replaced).
 * seriesOf(row) names the row's series (a key); seriesLabel(key) says it in words; what
 * names the series in sentences ("organization", "purpose"). Returns the number of bars.
 */
export function drawChart(figure, rows, { seriesOf, seriesLabel, what }) {
  const { unit, bars } = periods(rows);
  const keys = [...new Set(rows.map(seriesOf))].sort();
  const width = Math.max(280, Math.floor(figure.clientWidth || 600));
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const { top, step } = niceTop(Math.max(...bars.map((bar) => bar.rows.length)));
  const y = (n) => MARGIN.top + plotHeight - (n / top) * plotHeight;
  const band = plotWidth / bars.length;
  const barWidth = Math.min(48, Math.max(2, band * 0.7));
  const format = new Intl.DateTimeFormat(undefined, UNITS[unit].label);
  const id = figure.id || "chart";

  const titleText = `Uses and disclosures of your data, ${UNITS[unit].words}`;
  const perSeries = keys.map((key) => `${seriesLabel(key)}: ${rows.filter((row) => seriesOf(row) === key).length}`);
  const busiest = bars.reduce((a, b) => (b.rows.length > a.rows.length ? b : a));
  const descText =
    `${plural(rows.length, "use or disclosure", "uses and disclosures")} from ${format.format(bars[0].start)} ` +
    `to ${format.format(bars.at(-1).start)}, by ${what}: ${perSeries.join("; ")}. ` +
    `The most in one bar: ${busiest.rows.length}, ${unit === "week" ? "the week of " : ""}${format.format(busiest.start)}. ` +
    "The table below lists every one.";
  const svg = node("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-desc`, class: "chart" });
  svg.append(node("title", { id: `${id}-title` }, titleText), node("desc", { id: `${id}-desc` }, descText));

  for (let tick = 0; tick <= top; tick += step) {
    svg.append(
      node("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(tick), y2: y(tick), class: tick === 0 ? "axis" : "grid" }),
      node("text", { x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end", class: "tick" }, String(tick)),
    );
  }
  const labelEvery = Math.ceil(bars.length / Math.max(1, Math.floor(plotWidth / 64)));
  bars.forEach((bar, i) => {
    const x = MARGIN.left + i * band + (band - barWidth) / 2;
    let stacked = 0;
    keys.forEach((key, k) => {
      const n = bar.rows.filter((row) => seriesOf(row) === key).length;
      if (n === 0) return;
      const rect = node("rect", { x, y: y(stacked + n), width: barWidth, height: y(stacked) - y(stacked + n), class: `bar series-${k % SERIES_CLASSES}` });
      rect.dataset.series = key;
      rect.dataset.count = String(n);
      rect.append(node("title", {}, `${format.format(bar.start)}: ${plural(n, "use or disclosure", "uses and disclosures")}, ${seriesLabel(key)}`));
      svg.append(rect);
      stacked += n;
    });
    if (i % labelEvery === 0) {
      const centre = Math.min(MARGIN.left + i * band + band / 2, width - 30); // keep "Nov 2026" inside
      svg.append(node("text", { x: centre, y: HEIGHT - MARGIN.bottom + 18, "text-anchor": "middle", class: "tick" }, format.format(bar.start)));
    }
  });

  const legend = document.createElement("ul");
  legend.className = "legend";
  keys.forEach((key, k) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch series-${k % SERIES_CLASSES}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(seriesLabel(key)));
    legend.append(item);
  });
  const caption = document.createElement("figcaption");
  caption.textContent = titleText;
  figure.replaceChildren(caption, svg, legend);
  return bars.length;
}
