// Writes TypeScript types generated from the exported schemas, with each generator's defaults:
//   node generate.mjs DIR
// reads DIR/generation-request.types.schema.json, DIR/generation.schema.json, DIR/openapi.json
// and writes DIR/request.d.ts, DIR/generation.d.ts (json-schema-to-typescript) and
// DIR/openapi.d.ts (openapi-typescript).  Run from a directory whose node_modules holds the
// packages of package-lock.json.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "json-schema-to-typescript";
import openapiTS, { astToString } from "openapi-typescript";

const dir = process.argv[2];
const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));
const options = { bannerComment: "", cwd: dir };

writeFileSync(join(dir, "request.d.ts"), await compile(read("generation-request.types.schema.json"), "GenerationRequest", options));
writeFileSync(join(dir, "generation.d.ts"), await compile(read("generation.schema.json"), "Generation", options));
writeFileSync(join(dir, "openapi.d.ts"), astToString(await openapiTS(read("openapi.json"))));
