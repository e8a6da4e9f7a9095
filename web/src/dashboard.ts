// The manager's dashboard: portfolio KPIs, aging, a month-end trend and the roll-rate matrix, as of any date.
import { Chart, registerables } from "chart.js";
import { body, type Clients } from "./client";
import { esc, table } from "./html";

Chart.register(...registerables);

export async function dashboardPage(api: Clients, root: HTMLElement, asOf: string): Promise<void> {
  const query = { query: { as_of: asOf } };
  const portfolio = report(await api.reporting.GET("/v1/reports/portfolio", { params: query }));
  const aging = report(await api.reporting.GET("/v1/reports/aging", { params: query }));
  const ends = monthEnds(asOf, 6);
  const trend = await Promise.all(ends.map(async (day) => report(await api.reporting.GET("/v1/reports/portfolio", { params: { query: { as_of: day } } }))));
  const rolls = report(await api.reporting.GET("/v1/reports/roll-rates", { params: { query: { from: ends[ends.length - 2], to: asOf } } }));
  const k = portfolio.kpis;
  root.innerHTML = `<h1>Dashboard</h1>
    <form id="asof"><input type="date" name="as_of" value="${esc(asOf)}" /><button>Show</button></form>
    ${table(["Loans", "Outstanding", "Overdue", "NPL balance", "NPL ratio"], [[esc(k.loans), esc(k.outstanding), esc(k.overdue_amount), esc(k.npl_balance), esc(k.npl_ratio)]])}
    <div class="chart"><canvas id="aging-chart"></canvas></div><div class="chart"><canvas id="trend-chart"></canvas></div>
    <div class="chart"><canvas id="roll-chart"></canvas></div>`;
  draw("aging-chart", "bar", aging.buckets.map((b) => b.bucket), [{ label: "Balance by bucket", data: aging.buckets.map((b) => Number(b.balance)) }]);
  draw("trend-chart", "line", ends, [
    { label: "Outstanding", data: trend.map((t) => Number(t.kpis.outstanding)) },
    { label: "Overdue", data: trend.map((t) => Number(t.kpis.overdue_amount)) },
  ]);
  draw("roll-chart", "bar", rolls.matrix.map((r) => r.from_bucket), [
    { label: "Roll forward", data: rolls.matrix.map((r) => Number(r.roll_forward_rate ?? 0)) },
    { label: "Cure", data: rolls.matrix.map((r) => Number(r.cure_rate ?? 0)) },
  ]);
  root.querySelector<HTMLFormElement>("#asof")!.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/dashboard/${new FormData(event.target as HTMLFormElement).get("as_of")}`;
  });
}

/** A report's JSON body (the reports also speak CSV, which the console never asks for). */
function report<T>(result: { data?: T | string; error?: unknown; response: Response }): T {
  const data = body(result);
  if (typeof data === "string") throw new Error("expected a JSON report");
  return data;
}

function draw(id: string, type: "bar" | "line", labels: string[], datasets: { label: string; data: number[] }[]): void {
  const canvas = document.getElementById(id) as HTMLCanvasElement;
  new Chart(canvas, { type, data: { labels, datasets }, options: { animation: false, maintainAspectRatio: false } });
  canvas.dataset.points = String(datasets.reduce((total, set) => total + set.data.length, 0));
}

/** The last `count` month-ends up to `asOf` (the last being `asOf` itself), oldest first. */
export function monthEnds(asOf: string, count: number): string[] {
  const day = new Date(`${asOf}T00:00:00Z`);
  const ends = [asOf];
  for (let back = 0; ends.length < count; back++) {
    ends.unshift(new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - back, 0)).toISOString().slice(0, 10));
  }
  return ends;
}
