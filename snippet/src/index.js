// The file the install tag loads: replaces the stub `pulse` with the real one and replays the
// calls the stub recorded, resolving the promises the stub handed out.
import { createTracker } from "./tracker.js";
import { VERSION } from "./version.js";

(function boot(win) {
  const stub = win.pulse;
  // The script included twice (the top cause of duplicate events): the first copy owns the page.
  if (stub && stub.loaded) return;
  const script = win.document.currentScript;
  const tracker = createTracker(win, script && script.src);
  const pulse = (method, ...args) => tracker.call(method, args);
  pulse.loaded = true;
  pulse.version = VERSION;
  win.pulse = pulse;
  for (const [args, resolve, reject] of (stub && stub.q) || []) {
    const [method, ...rest] = Array.from(args);
    tracker.call(method, rest).then(resolve, reject);
  }
})(window);
