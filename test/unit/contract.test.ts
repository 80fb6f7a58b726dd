import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseFormMeasurements } from "../../app/parse-measurements.js";
import { jobMessageSchema, STAGES } from "../../tasks/contract.js";
import { ValidationError } from "../../tasks/errors.js";

const good = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

function issues(raw: Record<string, unknown>): Record<string, string> {
  try {
    parseFormMeasurements(raw);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return Object.fromEntries(err.details.map((d) => [d.field, d.message]));
  }
  assert.fail("expected a ValidationError");
}

describe("measurement schema", () => {
  it("accepts numbers and numeric strings", () => {
    assert.deepEqual(parseFormMeasurements(good), good);
    assert.deepEqual(
      parseFormMeasurements({ sepal_length: "5.1", sepal_width: " 3.5", petal_length: "1.4", petal_width: "0.2" }),
      good,
    );
  });

  it("accepts the legacy form names and ignores a Submit field", () => {
    const legacy = { "Sepal length": "5.1", "Sepal width": "3.5", "Petal length": "1.4", "Petal width": "0.2", Submit: "Go" };
    assert.deepEqual(parseFormMeasurements(legacy), good);
  });

  it("accepts the bounds: just above 0 and exactly 10", () => {
    assert.equal(parseFormMeasurements({ ...good, sepal_length: 10 }).sepal_length, 10);
    assert.equal(parseFormMeasurements({ ...good, petal_width: 0.01 }).petal_width, 0.01);
  });

  it("rejects out-of-range, non-finite, non-numeric and missing values with a sentence per field", () => {
    assert.deepEqual(issues({ ...good, sepal_length: 0 }), { sepal_length: "Sepal length must be greater than 0." });
    assert.deepEqual(issues({ ...good, sepal_length: 10.01 }), { sepal_length: "Sepal length must be at most 10." });
    assert.deepEqual(issues({ ...good, sepal_width: -1 }), { sepal_width: "Sepal width must be greater than 0." });
    assert.match(issues({ ...good, petal_length: "NaN" }).petal_length!, /Petal length must be/);
    assert.match(issues({ ...good, petal_length: "Infinity" }).petal_length!, /Petal length must be/);
    assert.match(issues({ ...good, petal_length: Number.POSITIVE_INFINITY }).petal_length!, /Petal length must be/);
    assert.equal(issues({ ...good, petal_width: "abc" }).petal_width, "Petal width must be a number.");
    assert.equal(issues({ ...good, petal_width: true }).petal_width, "Petal width must be a number.");
    const { sepal_length: _, ...missing } = good;
    assert.equal(issues(missing).sepal_length, "Sepal length is required.");
    assert.equal(issues({ ...good, sepal_length: "" }).sepal_length, "Sepal length is required.");
  });

  it("rejects unknown fields by name", () => {
    assert.deepEqual(issues({ ...good, colour: "blue" }), { colour: 'Unknown field "colour".' });
  });

  it("takes decimal notation only: not hexadecimal, binary, octal, or what Number() half-reads", () => {
    for (const text of ["0x5", "0b11", "0o7", ".5", "5.", "+5", "1_0", "5,1", "5 1", "٥", "Infinity"]) {
      assert.equal(issues({ ...good, sepal_length: text }).sepal_length, "Sepal length must be a number.", text);
    }
    assert.equal(parseFormMeasurements({ ...good, sepal_length: " 5e0 " }).sepal_length, 5);
    assert.equal(parseFormMeasurements({ ...good, sepal_length: "05.10" }).sepal_length, 5.1);
  });

  it("is given to 0.01 cm, the form's step: more decimals are refused, not shown rounded", () => {
    assert.equal(issues({ ...good, petal_width: "0.001" }).petal_width, "Petal width must be given to 0.01 cm (at most two decimals).");
    assert.equal(issues({ ...good, petal_width: 5.123 }).petal_width, "Petal width must be given to 0.01 cm (at most two decimals).");
    assert.equal(parseFormMeasurements({ ...good, petal_width: "0.07" }).petal_width, 0.07);
    assert.equal(parseFormMeasurements({ ...good, petal_width: "9.99" }).petal_width, 9.99);
    assert.equal(parseFormMeasurements({ ...good, petal_width: 0.2 + 0.1 }).petal_width, 0.2 + 0.1, "float noise is not a decimal");
  });

  it("refuses one field under both of its names, or twice", () => {
    const both = issues({ ...good, "Sepal length": "5.1" });
    assert.match(both.sepal_length!, /Sepal length is given twice, as "sepal_length" and as "Sepal length"/);
    assert.match(issues({ ...good, sepal_width: ["3.5", "3.6"] }).sepal_width!, /more than once/);
  });

  it("job messages carry numbers: a string is not a measurement there", () => {
    const msg = { jobid: crypto.randomUUID(), input: { ...good, sepal_length: "5.1" }, submitted_at: new Date().toISOString() };
    assert.equal(jobMessageSchema.safeParse(msg).success, false);
  });
});

describe("job contract", () => {
  it("stages rise from 0 to 1", () => {
    const values = Object.values(STAGES);
    assert.deepEqual(values, [...values].sort((a, b) => a - b));
    assert.equal(values[0], 0);
    assert.equal(values.at(-1), 1);
  });

  it("a job message needs a UUID v4 id and valid input", () => {
    const msg = { jobid: crypto.randomUUID(), input: good, submitted_at: new Date().toISOString() };
    assert.ok(jobMessageSchema.safeParse(msg).success);
    assert.equal(jobMessageSchema.safeParse({ ...msg, jobid: "1" }).success, false);
    assert.equal(jobMessageSchema.safeParse({ ...msg, input: { ...good, sepal_length: 11 } }).success, false);
  });
});
