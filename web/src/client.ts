// Typed clients for the services the console calls, built on the generated OpenAPI types.
import createClient from "openapi-fetch";
import type { paths as CrmPaths } from "./api/crm";
import type { paths as ReportingPaths } from "./api/reporting";
import type { paths as RiskAlertPaths } from "./api/risk-alert";

export interface Config { crm: string; riskAlert: string; reporting: string }

export function clients(config: Config, token: string) {
  const headers = { Authorization: `Bearer ${token}` };
  return {
    crm: createClient<CrmPaths>({ baseUrl: config.crm, headers }),
    riskAlert: createClient<RiskAlertPaths>({ baseUrl: config.riskAlert, headers }),
    reporting: createClient<ReportingPaths>({ baseUrl: config.reporting, headers }),
  };
}
export type Clients = ReturnType<typeof clients>;

/** The body of a typed response, or an Error carrying the service's problem detail. */
export function body<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) throw new Error(`${result.response.status}: ${JSON.stringify(result.error)}`);
  return result.data;
}
