// app/http-preferences.ts: Prefer: wait (RFC 7240) and If-None-Match (RFC 9110) as parsed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { etagMatches, preferredWait } from "../../app/http-preferences.js";

describe("Prefer: wait", () => {
  it("reads the first wait preference, case-insensitively, among others and with parameters", () => {
    assert.equal(preferredWait("wait=10"), 10);
    assert.equal(preferredWait("WAIT = 7"), 7);
    assert.equal(preferredWait('wait="12"'), 12);
    assert.equal(preferredWait("respond-async, wait=5"), 5);
    assert.equal(preferredWait("return=minimal; foo=bar, wait=3;x=1"), 3);
    assert.equal(preferredWait("wait=4, wait=9"), 4, "only the first instance counts");
    assert.equal(preferredWait("wait=0"), 0);
  });

  it("caps it at 60 seconds", () => {
    assert.equal(preferredWait("wait=61"), 60);
    assert.equal(preferredWait("wait=99999999999999999999"), 60);
  });

  it("ignores what is not a wait of whole seconds", () => {
    for (const header of ["", "wait", "wait=", "wait=abc", "wait=-1", "wait=1.5", "wait=1e3", "wait=+3", "waiting=3", 'wait="', "wait=abc, wait=5"]) {
      assert.equal(preferredWait(header), undefined, JSON.stringify(header));
    }
    assert.equal(preferredWait(undefined), undefined);
  });
});

describe("If-None-Match", () => {
  const tag = '"abc"';
  it("matches the tag, a weak form of it, a list holding it, and *", () => {
    for (const header of ['"abc"', 'W/"abc"', '"x", "abc"', '"x",W/"abc"', "*"]) assert.equal(etagMatches(header, tag), true, header);
  });
  it("does not match other tags or nothing", () => {
    for (const header of ['"abd"', "abc", '"abc', "", 'W/"x"']) assert.equal(etagMatches(header, tag), false, header);
  });
});
