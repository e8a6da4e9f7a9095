// A collector's case page: the case, its timeline and promises, typed from crm's openapi.json.
import type { components, paths } from "../generated/types/crm";
import { getJson, type Session } from "./client";

type CaseDetail = paths["/v1/cases/{case_id}"]["get"]["responses"][200]["content"]["application/json"];
type CasePage = paths["/v1/cases"]["get"]["responses"][200]["content"]["application/json"];
type Promise_ = components["schemas"]["PromiseOut"];

export async function readCase(session: Session, caseId: string): Promise<string> {
  const detail: CaseDetail = await getJson(session, `/v1/cases/${encodeURIComponent(caseId)}`);
  const overdue: string = detail.overdue_amount; // money travels as a decimal string
  const dpd: number = detail.dpd;
  const lastEvent: string | undefined = detail.timeline.at(-1)?.kind;
  const promised: string[] = detail.promises.map((p: Promise_) => `${p.amount} by ${p.promised_date}`);
  return `${detail.case_id} ${detail.status} ${dpd} dpd, ${overdue} ${detail.currency}; ${lastEvent}; ${promised}`;
}

export async function openCases(session: Session, queue: string): Promise<string[]> {
  const page: CasePage = await getJson(session, "/v1/cases", { status: "open", queue });
  const next: string | null | undefined = page.next_cursor;
  return [...page.items.map((c) => `${c.case_id}:${c.assignee ?? "unassigned"}`), next ?? ""];
}
