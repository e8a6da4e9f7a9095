// The customer 360 a collector opens from a case, typed from crm's openapi.json.
import type { paths } from "../generated/types/crm";
import { getJson, type Session } from "./client";

type Overview =
  paths["/v1/customers/{customer_id}/overview"]["get"]["responses"][200]["content"]["application/json"];

export async function readCustomerOverview(session: Session, customerId: string): Promise<string> {
  const view: Overview = await getJson(session, `/v1/customers/${encodeURIComponent(customerId)}/overview`);
  const masked: boolean = view.profile.pii_masked;
  const phones: string[] = view.profile.phones.map((p) => p.number);
  const exposure: string[] = view.loans.map((l) => `${l.loan_id} ${l.bucket} ${l.outstanding ?? "?"}`);
  const grade: string | null | undefined = view.latest_risk?.grade;
  const openCase: string | undefined = view.open_case?.case_id;
  const lastContact: string | undefined = view.recent_interactions[0]?.outcome;
  return [masked, phones, exposure, grade, openCase, lastContact].join(" | ");
}
