// Validates many instances against one schema with ajv (Draft 2020-12), ajv-formats and
// ajv-errors, for the differential tests.  stdin: {"schema": ..., "instances": [...]};
// stdout: one JSON array with {"valid": bool, "errors": [{keyword, instancePath, message}]} per
// instance, in order.  Exit 2 when the schema does not compile.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import addErrors from "ajv-errors";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { schema, instances } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

// allErrors is required by ajv-errors; strictTypes is off because a conditional subschema
// (`then: {properties: {image_ref: {maxItems}}}`) rightly leaves the type to the main schema; useDefaults fills defaults as the server does, so that a
// message quoting another field (`model`) reads its default when the field is absent.
const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, strictTypes: false, unicodeRegExp: true });
ajv.addVocabulary(["x-luma-rules"]);
addFormats(ajv);
addErrors(ajv);

let validate;
try {
  validate = ajv.compile(schema);
} catch (err) {
  process.stderr.write(`schema does not compile: ${err.message}\n`);
  process.exit(2);
}

const out = instances.map((instance) => {
  const valid = validate(instance);
  const errors = (validate.errors || []).map((e) => ({
    keyword: e.keyword,
    instancePath: e.instancePath,
    message: e.message,
  }));
  return { valid, errors };
});
process.stdout.write(JSON.stringify(out));
