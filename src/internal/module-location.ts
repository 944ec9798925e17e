/** The URL of this module, to find files shipped next to it (the sync Redis backend's worker). */
export const moduleLocation: string =
  // tshy also compiles this file for CommonJS (where import.meta is an error), then swaps in
  // module-location-cjs.cts; the directive keeps that throw-away compilation quiet.
  // eslint-disable-next-line @typescript-eslint/ban-ts-comment
  // @ts-ignore
  import.meta.url;
