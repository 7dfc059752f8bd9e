// Types of luma-ajv.mjs: copy both files.
import type { Ajv2020, AnySchemaObject, ErrorObject, Options } from "ajv/dist/2020.js";

export declare const VENDOR_KEYWORD: "x-luma-rules";

/** An Ajv (Draft 2020-12) instance that compiles luma_schema's schemas (allErrors always on). */
export declare function createAjv(options?: Options): Ajv2020;

/** What a request body gets: the API's exact messages (as ajv-errors gives them), and ajv's errors. */
export interface Verdict {
  valid: boolean;
  messages: string[];
  errors: ErrorObject[];
}

/** Compile `schema` (generation-request.schema.json) once; the function checks one body. */
export declare function requestValidator(
  schema: AnySchemaObject,
  ajv?: Ajv2020,
): (body: unknown) => Verdict;
