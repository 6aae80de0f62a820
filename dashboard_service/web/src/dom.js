// Tiny DOM builder: every value goes in as text, never as HTML (campaign names are user data).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replaceChildren(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

/** Set the text of every `[data-metric=name]` under `root` (cheap live updates, no re-render). */
export function setMetric(root, name, text) {
  for (const el of root.querySelectorAll(`[data-metric="${name}"]`)) {
    if (el.textContent !== text) el.textContent = text;
  }
}
