// The risk officer's alert queue.
import { body, type Clients } from "./client";
import { esc, table } from "./html";

export async function alertsPage(api: Clients, root: HTMLElement): Promise<void> {
  const page = body(await api.riskAlert.GET("/v1/alerts", {}));
  const rows = page.items.map((a) => [esc(a.alert_id), esc(a.severity), esc(a.status), esc(a.rule_id), esc(a.subject_id), esc(a.message), esc(a.raised_at)]);
  root.innerHTML = `<h1>Alert queue</h1>${table(["Alert", "Severity", "Status", "Rule", "Subject", "Message", "Raised"], rows)}`;
}
