import assert from "node:assert/strict";
import test from "node:test";
import { cut } from "../src/text.js";

const wellFormed = (s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

test("a short string is kept whole", () => {
  assert.equal(cut("héllo 👋", 100), "héllo 👋");
});

test("a cut never splits an emoji into a lone surrogate", () => {
  const text = "ab👋cd"; // 👋 is two UTF-16 units, at indices 2 and 3
  assert.equal("ab👋cd".slice(0, 3).length, 3);
  assert.ok(!wellFormed(text.slice(0, 3)), "a plain slice would leave half an emoji");
  assert.equal(cut(text, 3), "ab");
  assert.equal(cut(text, 4), "ab👋");
  for (let max = 1; max <= text.length; max += 1) {
    const kept = cut(text, max);
    assert.ok(wellFormed(kept), `cut at ${max} is well-formed`);
    assert.ok(kept.length <= max && [...kept].length <= max);
  }
});

test("a string of emoji cut anywhere stays well-formed and within the limit", () => {
  const text = "🎉".repeat(300);
  for (const max of [1, 2, 199, 200, 201, 599]) {
    const kept = cut(text, max);
    assert.ok(wellFormed(kept));
    assert.ok(kept.length <= max);
    assert.ok(kept.length >= max - 1);
  }
});
