// The install tag's script: a stand-in `pulse` that records every call (and hands back a
// promise for its result) until the real file, loaded async, replaces it and replays them.
// build.mjs minifies this into dist/loader.min.js; docs/snippet.md and the demo page embed it.
(function (w, d, src) {
  if (w.pulse) return; // the tag pasted twice: the first one stands
  var q = [];
  var pulse = (w.pulse = function () {
    var args = arguments;
    return new Promise(function (resolve, reject) {
      q.push([args, resolve, reject]);
    });
  });
  pulse.q = q;
  var s = d.createElement("script");
  s.async = true;
  s.src = src;
  (d.head || d.documentElement).appendChild(s);
})(window, document, "__SRC__");
