// A collector's day: the worklist in working order, typed from crm's openapi.json (issue 16 item 2).
import type { paths } from "../generated/types/crm";
import { getJson, type Session } from "./client";

type Worklist = paths["/v1/worklist"]["get"]["responses"][200]["content"]["application/json"];

export async function readWorklist(session: Session): Promise<string[]> {
  const page: Worklist = await getJson(session, "/v1/worklist");
  return page.items.map((item) => {
    const reasons: string[] = [...item.reasons];
    const due: string | null | undefined = item.next_action_at;
    return `${item.case_id} priority ${item.priority} (${reasons.join(", ")}) next ${due ?? "now"}`;
  });
}
