import { isAbsolute, normalize } from "node:path";
import { ConfigurationError } from "../../errors.js";
import type { CacheUrl, UrlParameters } from "../../internal/cache-url.js";
import {
  checkTimingOptions,
  definedTimings,
  MAX_TIMER_MS,
  type TimingTable,
  timingsFromUrl,
} from "../../internal/timings.js";

/** The bounds of a file backend. */
export interface FileBounds {
  /**
   * The most bytes its entry files may take together (headers and keys included), kept by the sweep,
   * which removes the oldest-written entries down to 90 % of it; 0 for no bound (the default).
   */
  readonly maxSize: number;
  /** Milliseconds between two sweeps of expired entries (0: never sweep by itself; default 60 000). */
  readonly sweepInterval: number;
}

/** The defaults of {@link FileBounds}. */
export const DEFAULT_FILE_BOUNDS: FileBounds = { maxSize: 0, sweepInterval: 60_000 };

const FILE_BOUND_PARAMETERS: TimingTable<FileBounds> = {
  maxSize: { parameter: "max-size", min: 0, max: Number.MAX_SAFE_INTEGER },
  sweepInterval: { parameter: "sweep-interval", min: 0, max: MAX_TIMER_MS },
};

/** The names of {@link FileBounds}, as constructor options. */
export const FILE_BOUND_NAMES = Object.keys(FILE_BOUND_PARAMETERS) as readonly (keyof FileBounds)[];

/** Everything a file URL configures. */
export interface FileSettings {
  /** The root directory, absolute and normalised. */
  readonly directory: string;
  readonly bounds: FileBounds;
}

/**
 * The root directory checked: absolute, no NUL.
 *
 * @throws ConfigurationError naming the rule.
 */
export function checkFileDirectory(directory: string, shown: string = directory): string {
  if (typeof directory !== "string" || !isAbsolute(directory) || directory.includes("\0")) {
    throw new ConfigurationError(
      `file:// takes an absolute directory, as in "file:///var/cache/app" or { directory: "/var/cache/app" }; got ${JSON.stringify(shown)}`,
    );
  }
  return normalize(directory);
}

/** Checks constructor options that are byte counts or milliseconds. */
export function checkFileBounds(options: Readonly<Record<string, number | undefined>>): void {
  checkTimingOptions("FileBackend", options, FILE_BOUND_PARAMETERS);
}

/** The bounds among `options` that are set. */
export function definedFileBounds(options: Partial<FileBounds>): Partial<FileBounds> {
  return definedTimings(options, FILE_BOUND_PARAMETERS);
}

/**
 * Parses `file:///absolute/dir?max-size=BYTES&sweep-interval=MS`.
 *
 * @throws ConfigurationError naming the bad part.
 */
export function fileSettingsFromUrl(url: CacheUrl, parameters: UrlParameters): FileSettings {
  let directory: string;
  try {
    // A file URL has no credentials: an `@` belongs to the path.
    directory = decodeURIComponent(url.location);
  } catch {
    throw new ConfigurationError(
      `the path of ${JSON.stringify(url.redacted)} has a malformed %-escape; write % as %25`,
    );
  }
  return {
    directory: checkFileDirectory(directory, url.redacted),
    bounds: timingsFromUrl(parameters, FILE_BOUND_PARAMETERS, DEFAULT_FILE_BOUNDS),
  };
}
