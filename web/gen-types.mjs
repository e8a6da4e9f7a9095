// Generates src/api/*.ts from the services' openapi.json (as tools/openapi-ts does).
// Usage: node gen-types.mjs OPENAPI_DIR  (the JSON files `python -m postloan_dev.openapi_dump` writes).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";

const specDir = process.argv[2];
if (!specDir) throw new Error("usage: node gen-types.mjs OPENAPI_DIR");
mkdirSync("src/api", { recursive: true });
for (const service of ["crm", "risk-alert", "reporting"]) {
  const spec = JSON.parse(readFileSync(join(specDir, `${service}.json`), "utf8"));
  writeFileSync(join("src/api", `${service}.ts`), astToString(await openapiTS(spec)));
}
