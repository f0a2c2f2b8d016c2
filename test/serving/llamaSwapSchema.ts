/** llama-swap's own JSON schema (../shared/reference), compiled once with ajv. */
import Ajv from "ajv";
import draft7 from "ajv/dist/refs/json-schema-draft-07.json";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const SCHEMA = path.join(__dirname, "..", "..", "..", "shared", "reference", "llama-swap", "config-schema.json");

export function llamaSwapValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema names draft-07 by its https address; ajv knows it by the http one.
  ajv.addMetaSchema({ ...draft7, $id: "https://json-schema.org/draft-07/schema#" });
  ajv.addFormat("uri", true);
  return ajv.compile(JSON.parse(readFileSync(SCHEMA, "utf8")));
}
