// The collector's pages: the worklist and a case (timeline, promise entry, call outcome).
import type { components } from "./api/crm";
import { body, type Clients } from "./client";
import { esc, table } from "./html";

type Outcome = components["schemas"]["ContactOutcome"];
const OUTCOMES: Outcome[] = ["right_party_contact", "no_answer", "wrong_number", "refused", "promise_to_pay", "dispute", "hardship"];

export async function worklistPage(api: Clients, root: HTMLElement): Promise<void> {
  const page = body(await api.crm.GET("/v1/worklist", {}));
  const rows = page.items.map((w) => [
    `<a href="#/case/${encodeURIComponent(w.case_id)}">${esc(w.case_id)}</a>`,
    esc(w.customer_id), esc(w.bucket), esc(w.dpd), `${esc(w.balance_due)} ${esc(w.currency)}`, esc(w.priority),
  ]);
  root.innerHTML = `<h1>Worklist</h1>${table(["Case", "Customer", "Bucket", "DPD", "Due", "Priority"], rows)}`;
}

export async function casePage(api: Clients, root: HTMLElement, caseId: string): Promise<void> {
  const path = { path: { case_id: caseId } };
  const detail = body(await api.crm.GET("/v1/cases/{case_id}", { params: path }));
  const interactions = body(await api.crm.GET("/v1/cases/{case_id}/interactions", { params: path }));
  const timeline = interactions.items.map((i) => [esc(i.occurred_at), esc(i.channel), esc(i.outcome), esc(i.note)]);
  const promises = detail.promises.map((p) => [esc(p.promised_date), esc(p.amount), esc(p.status)]);
  root.innerHTML = `<h1>Case ${esc(detail.case_id)}</h1>
    <p>Customer ${esc(detail.customer_id)} · loan ${esc(detail.loan_id)} · ${esc(detail.status)} · ${esc(detail.bucket)} · DPD ${esc(detail.dpd)} · overdue ${esc(detail.overdue_amount)} ${esc(detail.currency)}</p>
    <h2>Call outcome</h2>
    <form id="outcome"><select name="outcome">${OUTCOMES.map((o) => `<option>${o}</option>`).join("")}</select>
      <select name="direction"><option>outbound</option><option>inbound</option></select>
      <label><input type="checkbox" name="connected" checked /> connected</label>
      <input name="note" placeholder="note" /><button type="submit">Record outcome</button></form>
    <h2>Promise</h2>
    <form id="promise"><input name="amount" placeholder="amount" required /><input name="promised_date" type="date" required />
      <button type="submit">Add promise</button></form>
    <h2>Timeline</h2><div id="timeline">${table(["When", "Channel", "Outcome", "Note"], timeline)}</div>
    <h2>Promises</h2>${table(["Date", "Amount", "Status"], promises)}<p id="status"></p>`;
  const rerender = () => casePage(api, root, caseId);
  onSubmit(root, "#outcome", async (form) => {
    const outcome = form.get("outcome") as Outcome;
    const note = String(form.get("note") ?? "") || null;
    const sent = { case_id: caseId, loan_id: detail.loan_id, channel: "phone" as const, direction: form.get("direction") as "outbound" | "inbound", party: "debtor" as const,
      connected: form.get("connected") === "on", outcome, note };
    body(await api.crm.POST("/v1/customers/{customer_id}/interactions", { params: { path: { customer_id: detail.customer_id } }, body: sent }));
    await rerender();
  });
  onSubmit(root, "#promise", async (form) => {
    const sent = { amount: String(form.get("amount")), promised_date: String(form.get("promised_date")) };
    body(await api.crm.POST("/v1/cases/{case_id}/promises", { params: path, body: sent }));
    await rerender();
  });
}

function onSubmit(root: HTMLElement, selector: string, handle: (form: FormData) => Promise<void>): void {
  const form = root.querySelector<HTMLFormElement>(selector)!;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    handle(new FormData(form)).catch((error: Error) => (root.querySelector("#status")!.textContent = error.message));
  });
}
