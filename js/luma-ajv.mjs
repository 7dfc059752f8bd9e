// luma-ajv: ajv set up for luma_schema's validation schema (schemas/generation-request.schema.json),
// giving the Luma Agents API's exact error messages wherever ajv-errors can give them.
//
// Copy this file (and luma-ajv.d.mts for TypeScript) into your project beside the schema; it needs
// ajv 8, ajv-formats 3 and ajv-errors 3 (see package.json).  Usage:
//
//   import schema from "./generation-request.schema.json" with { type: "json" };
//   import { requestValidator } from "./luma-ajv.mjs";
//   const check = requestValidator(schema);
//   const verdict = check(body);  // { valid, messages, errors }
//
// `messages` are the API's exact messages for the rules the body breaks, as ajv-errors gives
// them; docs/schemas.md lists the rules whose message ajv cannot give (messages that echo a
// submitted value, image_ref items' paths, URL reachability) and why.  The body is never changed.
import Ajv2020 from "ajv/dist/2020.js";
import addErrors from "ajv-errors";
import addFormats from "ajv-formats";

// The schema's annotation of each rule (id, status, message): a keyword ajv must know in strict mode.
export const VENDOR_KEYWORD = "x-luma-rules";

// allErrors: ajv-errors needs it.  strictTypes off: a conditional subschema
// (`then: {properties: {image_ref: {maxItems: 8}}}`) rightly leaves the type to the main schema.
// unicodeRegExp: the schema's patterns use \u escapes.
const OPTIONS = { allErrors: true, strict: true, strictTypes: false, unicodeRegExp: true };

// An Ajv (Draft 2020-12) instance that compiles luma_schema's schemas; `options` are added to
// (and may override) the ones above, except allErrors, which ajv-errors requires.
export function createAjv(options = {}) {
  const ajv = new Ajv2020({ ...OPTIONS, ...options, allErrors: true });
  ajv.addVocabulary([VENDOR_KEYWORD]);
  addFormats(ajv);
  addErrors(ajv);
  return ajv;
}

// Compiles `schema` once (with `ajv`, default createAjv()) and returns a function of a request
// body giving { valid, messages, errors }: `messages` the distinct ajv-errors messages in ajv's
// order, `errors` ajv's whole list.
export function requestValidator(schema, ajv = createAjv()) {
  const validate = ajv.compile(schema);
  return (body) => {
    if (validate(body)) return { valid: true, messages: [], errors: [] };
    const errors = validate.errors ?? [];
    const messages = [...new Set(errors.filter((e) => e.keyword === "errorMessage").map((e) => e.message))];
    return { valid: false, messages, errors };
  };
}
