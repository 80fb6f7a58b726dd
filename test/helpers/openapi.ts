import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Doc = {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>>;
};

/** What a test got back from the service. */
export interface Received {
  method: string;
  /** The request path, query string allowed. */
  path: string;
  status: number;
  contentType: string | undefined;
  body: unknown;
}

/**
 * Checks responses against the service's own /openapi.json: the document is first validated
 * against the OpenAPI 3.1 meta-schema (@seriousme/openapi-schema-validator), then each JSON
 * response body against the schema the document gives for its path, method and status (Ajv,
 * JSON Schema 2020-12). A method the document has no operation for must be a 405 whose body
 * matches the document's ErrorBody.
 */
export async function openApiChecker(document: unknown) {
  const validator = new Validator();
  const result = await validator.validate(document as Parameters<Validator["validate"]>[0]);
  assert.ok(result.valid, `openapi.json is not a valid OpenAPI document: ${String(JSON.stringify(result.errors)).slice(0, 2000)}`);
  assert.equal(validator.version, "3.1", "OpenAPI 3.1");

  const doc = document as Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document as object, "openapi.json");
  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (pointer: string) => {
    let fn = compiled.get(pointer);
    if (!fn) compiled.set(pointer, (fn = ajv.compile({ $ref: `openapi.json#${pointer}` })));
    return fn;
  };
  const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));

  let checked = 0;
  return {
    /** How many JSON bodies were validated so far. */
    get checked() {
      return checked;
    },
    /** Asserts that a JSON response is what the document promises; non-JSON bodies are skipped. */
    check(r: Received): void {
      if (!r.contentType?.includes("json")) return;
      // The router is strict: /predict/ is not /predict but no route (404).
      const pathOnly = r.path.split("?")[0]!;
      const match = templates.find((t) => t.regex.test(pathOnly));
      const method = r.method.toLowerCase() === "head" ? "get" : r.method.toLowerCase();
      const operation = match ? doc.paths[match.template]![method] : undefined;
      let pointer: string;
      if (!operation) {
        assert.ok(r.status === 405 || r.status === 404, `${r.method} ${r.path}: undocumented operation answered ${r.status}`);
        pointer = "/components/schemas/ErrorBody";
      } else {
        const response = operation.responses?.[String(r.status)];
        assert.ok(response, `${r.method} ${r.path}: status ${r.status} is not documented`);
        assert.ok(response.content?.["application/json"], `${r.method} ${r.path}: ${r.status} has no JSON schema`);
        pointer = `/paths/${escape(match!.template)}/${method}/responses/${r.status}/content/application~1json/schema`;
      }
      const validate = validatorFor(pointer);
      const ok = validate(r.body);
      assert.ok(
        ok,
        `${r.method} ${r.path} ${r.status}: body does not match ${pointer}: ${ajv.errorsText(validate.errors)}\n` +
          JSON.stringify(r.body).slice(0, 500),
      );
      checked++;
    },
  };
}

export type OpenApiChecker = Awaited<ReturnType<typeof openApiChecker>>;
