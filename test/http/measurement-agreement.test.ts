// One rule for what a measurement is: the same text is accepted or refused by every way a
// measurement arrives — the form (urlencoded and multipart), the query string, a CSV row and,
// when the text is a JSON number, a JSON body — and a JSON string is never a number.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import request from "supertest";
import { memoryApp } from "../helpers/memory-app.js";

const OTHERS = { sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };
const HEAD = "sepal_length,sepal_width,petal_length,petal_width";

/** Texts that have tripped parsers: other bases, half-numbers, separators, steps, bounds. */
const tricky = fc.constantFrom(
  "0x5", "0b11", "0o7", "0X1A", "5.", ".5", "+5", "-5", "05", "00.5", "5e0", "5E-0", "1e-2", "1e1", "1e2", "1e999",
  "0.001", "0.005", "0.01", "0.010", "0.07", "5.123", "9.999", "9.99", "10", "10.0", "10.00", "10.001", "1_0", "5,1",
  "5 1", "٣", "Infinity", "-Infinity", "NaN", "", " ", "-0", "0", "5.1", " 5.1", "5.1 ", "\t5.1", "5.10", "5.100",
  "5.1000000000000000001", "5.100000001", "true", "null",
);
const digits = fc.string({ unit: fc.constantFrom(..."0123456789.eE+-x "), maxLength: 8 });
const decimals = fc
  .tuple(fc.double({ min: 0, max: 12, noNaN: true }), fc.integer({ min: 0, max: 4 }))
  .map(([x, k]) => x.toFixed(k));
const text = fc.oneof(tricky, digits, decimals);

/** A JSON number literal (with JSON's own white space around it), which a JSON body can carry as is. */
const isJsonNumber = (s: string) => /^[ \t\n\r]*-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?[ \t\n\r]*$/.test(s);

describe("every entry point agrees on what a measurement is", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  before(async () => {
    t = await memoryApp({ MAX_QUEUE_DEPTH: "0" });
    http = request(t.app.callback());
  });
  after(() => t.close());

  it("the same text: accepted everywhere or refused everywhere (fast-check, 300 runs)", async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(text, async (s) => {
        const fields = { sepal_length: s, ...OTHERS };
        const form = await http.post("/predict").type("form").send(new URLSearchParams(fields).toString());
        const multipart = await Object.entries(fields)
          .reduce((r, [k, v]) => r.field(k, v), http.post("/predict"))
          .set("Accept", "text/html");
        const query = await http.get(`/predict?${new URLSearchParams(fields)}`);
        const csv = await http
          .post("/predict")
          .set("Accept", "application/json")
          .attach("file", Buffer.from(`${HEAD}\n${[s, ...Object.values(OTHERS)].join(",")}\n`), "f.csv");
        const answers: Record<string, boolean> = {
          form: expectOne(form.status, 303, "form", s),
          multipart: expectOne(multipart.status, 303, "multipart", s),
          query: expectOne(query.status, 200, "query", s),
          // A cell holding a comma, a quote or a line break changes the row's shape, not the number's
          // rule: such texts are compared only where the CSV still has one cell for them.
          ...(/[,"\r\n]/.test(s) ? {} : { csv: expectOne(csv.status, 202, "csv", s) }),
        };
        if (isJsonNumber(s)) {
          const json = await http
            .post("/predict")
            .set("Content-Type", "application/json")
            .send(`{"input": {"sepal_length": ${s}, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}`);
          answers.json = expectOne(json.status, 200, "json", s);
        }
        const asString = await http.post("/predict").send({ input: { ...OTHERS, sepal_length: s } });
        assert.equal(asString.status, 400, `a JSON string is never a number (${JSON.stringify(s)})`);
        const verdicts = new Set(Object.values(answers));
        assert.equal(verdicts.size, 1, `${JSON.stringify(s)}: ${JSON.stringify(answers)}`);
        if (answers.form) accepted++;
        else refused++;
      }),
      { numRuns: 300, seed: 20261202 },
    );
    console.log(`# measurement agreement: 300 texts, ${accepted} accepted and ${refused} refused by every entry point`);
    assert.ok(accepted > 20 && refused > 20, "both kinds were tried");
  });
});

/** true when accepted (`ok`), false when refused with 400; anything else fails the test. */
function expectOne(status: number, ok: number, where: string, s: string): boolean {
  assert.ok(status === ok || status === 400, `${where} answered ${status} for ${JSON.stringify(s)}`);
  return status === ok;
}
