import { createRequire } from "node:module";

/** `require` resolving from this package's own location, for loading optional peers lazily. */
export const moduleRequire: NodeJS.Require = createRequire(
  // tshy also compiles this file for CommonJS (where import.meta is an error), then swaps in
  // module-require-cjs.cts; the directive keeps that throw-away compilation quiet.
  // eslint-disable-next-line @typescript-eslint/ban-ts-comment
  // @ts-ignore
  import.meta.url,
);
