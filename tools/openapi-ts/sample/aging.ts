// The manager's aging table, typed from reporting's openapi.json (rows name their `bucket`, issue 17).
import type { paths } from "../generated/types/reporting";
import { getJson, type Session } from "./client";

type Aging = paths["/v1/reports/aging"]["get"]["responses"][200]["content"]["application/json"];

export async function readAging(session: Session, asOf: string): Promise<string[]> {
  const report: Aging = await getJson(session, "/v1/reports/aging", { as_of: asOf });
  const day: string = report.as_of;
  return report.buckets.map((row) => `${day} ${row.bucket}: ${row.loans} loans, ${row.balance}`);
}
