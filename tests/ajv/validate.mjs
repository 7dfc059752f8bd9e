// Validates many instances against one schema with the shipped module (js/luma-ajv.mjs: ajv,
// ajv-formats and ajv-errors, set up as a client gets them), for the differential tests.
// stdin: {"schema": ..., "instances": [...]}; stdout: one JSON array with {"valid": bool,
// "messages": [...], "errors": [{keyword, instancePath, message}]} per instance, in order.
// Exit 2 when the schema does not compile.
//
// The module is used as a client uses it: copied beside a node_modules that holds its
// dependencies (this directory's, from package-lock.json), so that its imports resolve there.
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const shipped = fileURLToPath(new URL("../../js/luma-ajv.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "luma-ajv-"));
let module;
try {
  symlinkSync(join(here, "node_modules"), join(dir, "node_modules"), "dir");
  copyFileSync(shipped, join(dir, "luma-ajv.mjs"));
  module = await import(pathToFileURL(join(dir, "luma-ajv.mjs")).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { schema, instances } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

let check;
try {
  check = module.requestValidator(schema);
} catch (err) {
  process.stderr.write(`schema does not compile: ${err.message}\n`);
  process.exit(2);
}

const out = instances.map((instance) => {
  const { valid, messages, errors } = check(instance);
  return {
    valid,
    messages,
    errors: errors.map((e) => ({ keyword: e.keyword, instancePath: e.instancePath, message: e.message })),
  };
});
process.stdout.write(JSON.stringify(out));
