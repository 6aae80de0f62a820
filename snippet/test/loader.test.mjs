import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import vm from "node:vm";
import { buildLoader } from "../build.mjs";

const ROOT = join(import.meta.dirname, "../..");

function fakePage() {
  const appended = [];
  const document = {
    head: { appendChild: (el) => appended.push(el) },
    createElement: (tag) => ({ tag }),
  };
  const window = {};
  return { window, document, appended, context: vm.createContext({ window, document, Promise }) };
}

test("the install tag queues calls with their promises and loads the script async, once", async () => {
  const page = fakePage();
  const tag = buildLoader().replace("__SRC__", "https://pulse.example/snippet.js");
  vm.runInContext(tag, page.context);
  vm.runInContext(tag, page.context); // pasted twice
  assert.equal(page.appended.length, 1);
  assert.deepEqual(page.appended[0], { tag: "script", async: true, src: "https://pulse.example/snippet.js" });

  const { pulse } = page.window;
  const entered = pulse("enter", "activity-1", { userToken: "t" });
  pulse("track", "Signed Up", { plan: "pro" });
  const plain = (v) => JSON.parse(JSON.stringify(v)); // objects from the vm's own realm
  assert.deepEqual(
    plain(pulse.q.map(([args]) => Array.from(args))),
    [
      ["enter", "activity-1", { userToken: "t" }],
      ["track", "Signed Up", { plan: "pro" }],
    ],
  );
  // What the real script does on load: run each call, settle the stub's promise with it.
  pulse.q[0][1]({ status: "confirmed" });
  assert.deepEqual(plain(await entered), { status: "confirmed" });
});

test("docs/snippet.md, the README and the demo page carry the current install tag", () => {
  const tag = buildLoader();
  const [head, tail] = tag.split("__SRC__");
  for (const file of ["docs/snippet.md", "README.md", "pulse/demo_page/index.html"]) {
    const text = readFileSync(join(ROOT, file), "utf8");
    assert.ok(text.includes(head) && text.includes(tail), `${file} embeds the built loader`);
  }
});
