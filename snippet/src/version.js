// The version in the immutable URL (`/snippet/<version>.js`): bump it whenever the code changes,
// or browsers holding the old file for a year would never see the change.
export const VERSION = "0.1.0";
