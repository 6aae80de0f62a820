// Strings cut to a length limit never split a character: a JavaScript string counts UTF-16
// units, and slicing between the two halves of a surrogate pair (an emoji, say) leaves a lone
// surrogate that no UTF-8 encoder can write and that Pulse refuses. Cutting before the high
// half keeps the result within `max` units, hence within `max` code points, the server's unit.
export function cut(text, max) {
  if (text.length <= max) return text;
  const end = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

function isHighSurrogate(code) {
  return code >= 0xd800 && code <= 0xdbff;
}
