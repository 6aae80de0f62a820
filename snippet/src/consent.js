// Consent decides whether anything is stored or sent. The one thing kept without consent is a
// refusal (under its own key, outside the wiped prefix), so that "no" is remembered.
export const GRANTED = "granted";
export const DENIED = "denied";
export const PENDING = "pending";
const KEY = "pulseConsent";

export function doNotTrack(nav, win) {
  const dnt = nav.doNotTrack ?? nav.msDoNotTrack ?? win?.doNotTrack;
  return dnt === "1" || dnt === "yes" || nav.globalPrivacyControl === true;
}

export function createConsent({ required = false, honorDnt = false, nav = {}, win, backing }) {
  const listeners = [];
  const locked = honorDnt && doNotTrack(nav, win);
  let saved = null;
  try {
    saved = backing ? backing.getItem(KEY) : null;
  } catch {
    saved = null;
  }
  let state = locked
    ? DENIED
    : saved === GRANTED || saved === DENIED
      ? saved
      : required
        ? PENDING
        : GRANTED;

  function set(granted) {
    if (locked) return false; // the browser's Do-Not-Track signal wins when the site honours it
    state = granted ? GRANTED : DENIED;
    try {
      backing?.setItem(KEY, state);
    } catch {
      // unstorable: the choice still holds for this page
    }
    for (const fn of listeners) fn(state);
    return true;
  }

  return {
    state: () => state,
    locked,
    set,
    onChange: (fn) => listeners.push(fn),
  };
}
