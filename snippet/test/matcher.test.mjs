import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import test from "node:test";
import {
  customDefinitions,
  elementHits,
  pageViews,
  pathOf,
  purchaseDefinition,
  urlMatches,
} from "../src/matcher.js";

const ROOT = join(import.meta.dirname, "../..");
const PYTHON = process.env.PULSE_PYTHON ?? join(ROOT, ".venv/bin/python");

const CASES = [
  ["/demo/coupon*", "https://shop.example/demo/coupon"],
  ["/demo/coupon*", "https://shop.example/demo/coupon/day-2?x=1#top"],
  ["/demo/coupon*", "https://shop.example/demo/flash-sale"],
  ["/demo/coupon*", "https://shop.example/demo/coupons"],
  ["/demo/coupon", "https://shop.example/demo/coupon?utm_source=mail"],
  ["/demo/coupon", "https://shop.example/demo/coupon/"],
  ["*/checkout", "https://shop.example/en/checkout"],
  ["*/checkout", "https://shop.example/en/checkout/done"],
  ["/a.b", "https://shop.example/axb"],
  ["/a.b", "https://shop.example/a.b"],
  ["/p(1)+[x]", "https://shop.example/p(1)+[x]"],
  ["/", "https://shop.example"],
  ["/", "https://shop.example/"],
  ["https://shop.example/sale*", "https://shop.example/sale?x=1"],
  ["https://shop.example/sale*", "http://shop.example/sale"],
  ["https://*.example/*", "https://www.shop.example/a"],
  ["/*/cart", "https://shop.example/de/cart"],
  ["/*/cart", "https://shop.example/cart"],
  ["/search", "/search"],
  ["/CASE", "https://shop.example/case"],
];

test("URL globs: `*` spans slashes, path-only patterns ignore host, query and fragment", () => {
  assert.equal(urlMatches("/demo/coupon*", "https://shop.example/demo/coupon/day-2?x=1#top"), true);
  assert.equal(urlMatches("/demo/coupon", "https://shop.example/demo/coupon?utm_source=mail"), true);
  assert.equal(urlMatches("/demo/coupon*", "https://shop.example/demo/flash-sale"), false);
  assert.equal(urlMatches("/a.b", "https://shop.example/axb"), false, "regex characters are literal");
  assert.equal(urlMatches("https://shop.example/sale*", "http://shop.example/sale"), false);
  assert.equal(urlMatches(null, "https://shop.example/anything"), true);
  assert.equal(pathOf("https://shop.example"), "/");
  assert.equal(pathOf("https://shop.example/a/b?c#d"), "/a/b");
});

test("URL globs agree with the server's url_matches on every case", () => {
  const script = [
    "import json, sys",
    "from core_service.domain.validation import url_matches",
    "print(json.dumps([url_matches(p, u) for p, u in json.load(sys.stdin)]))",
  ].join("\n");
  const server = JSON.parse(
    execFileSync(PYTHON, ["-c", script], { cwd: ROOT, input: JSON.stringify(CASES) }).toString(),
  );
  const client = CASES.map(([p, u]) => urlMatches(p, u));
  assert.deepEqual(client, server);
  assert.ok(server.includes(true) && server.includes(false), "the cases cover both answers");
});

const def = (id, type, extra = {}) => ({
  id,
  name: extra.name ?? id,
  activity_id: extra.activity_id ?? null,
  trigger: { type, url_pattern: extra.url_pattern ?? null, selector: extra.selector ?? null },
});

test("page views: every page_view definition whose pattern matches, and only those", () => {
  const defs = [
    def("coupon", "page_view", { url_pattern: "/demo/coupon*" }),
    def("all", "page_view"),
    def("sale", "page_view", { url_pattern: "/demo/flash-sale*" }),
    def("click", "click", { selector: "#x" }),
  ];
  const ids = pageViews(defs, "https://shop.example/demo/coupon").map((d) => d.id);
  assert.deepEqual(ids, ["coupon", "all"]);
});

test("element triggers: selector found from the target outwards, scoped by URL", () => {
  const defs = [
    def("cta", "click", { selector: "#cta" }),
    def("scoped", "click", { selector: "#cta", url_pattern: "/other*" }),
    def("card", "click", { selector: ".card" }),
    def("broken", "click", { selector: "###" }),
    def("form", "form_submit", { selector: "form" }),
  ];
  const found = { "#cta": { id: "cta" }, ".card": { id: "card-el" } };
  const hits = elementHits(defs, "click", "https://s.example/p", (sel) => found[sel] ?? null);
  assert.deepEqual(
    hits.map((h) => [h.def.id, h.el.id]),
    [
      ["cta", "cta"],
      ["card", "card-el"],
    ],
  );
});

test("a purchase goes to one definition: most specific pattern, then last touch, then first", () => {
  const a = def("a", "purchase", { activity_id: "act-a" });
  const b = def("b", "purchase", { activity_id: "act-b" });
  const scoped = def("scoped", "purchase", { url_pattern: "/shop/checkout*", activity_id: "act-c" });
  const wider = def("wider", "purchase", { url_pattern: "/shop/*", activity_id: "act-d" });
  const url = "https://s.example/shop/checkout/done";
  assert.equal(purchaseDefinition([a, b, wider, scoped], url, "act-b").id, "scoped");
  assert.equal(purchaseDefinition([a, b], url, "act-b").id, "b");
  assert.equal(purchaseDefinition([a, b], url, "act-unknown").id, "a");
  assert.equal(purchaseDefinition([a, b], url, null).id, "a");
  assert.equal(purchaseDefinition([def("c", "click", { selector: "#x" })], url, null), null);
});

test("track(name): custom definitions of that name on this page; unknown names go unattributed", () => {
  const defs = [
    def("signup", "custom", { name: "Signed Up" }),
    def("signup-shop", "custom", { name: "Signed Up", url_pattern: "/shop*" }),
    def("view", "page_view", { name: "Coupon viewed" }),
  ];
  const here = customDefinitions(defs, "Signed Up", "https://s.example/blog");
  assert.deepEqual([here.named, here.hits.map((d) => d.id)], [true, ["signup"]]);
  const unknown = customDefinitions(defs, "Newsletter", "https://s.example/blog");
  assert.deepEqual([unknown.named, unknown.hits], [false, []]);
  const otherType = customDefinitions(defs, "Coupon viewed", "https://s.example/blog");
  assert.deepEqual([otherType.named, otherType.hits], [true, []]);
});
