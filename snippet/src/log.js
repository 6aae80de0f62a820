// Console output for the site's developers. A tracker must never fill its host page's console,
// so everything but configuration mistakes is shown only with the `debug` option.
export function createLog(consoleLike = globalThis.console) {
  const log = {
    on: false,
    debug(...args) {
      if (log.on) consoleLike.log("[pulse]", ...args);
    },
    error(...args) {
      consoleLike.warn("[pulse]", ...args);
    },
  };
  return log;
}
