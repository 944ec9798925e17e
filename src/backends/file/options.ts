import { ConfigurationError } from "../../errors.js";
import { CacheUrl } from "../../internal/cache-url.js";
import { checkConfiguration } from "../../internal/options.js";
import {
  checkFileBounds,
  checkFileDirectory,
  DEFAULT_FILE_BOUNDS,
  definedFileBounds,
  FILE_BOUND_NAMES,
  type FileBounds,
  type FileSettings,
  fileSettingsFromUrl,
} from "./url.js";

/** Options of {@link FileBackend} (sync and async). */
export interface FileBackendOptions extends Partial<FileBounds> {
  /**
   * `file:///absolute/dir`; its query may set `max-size` and `sweep-interval`; options given here win.
   * Give a `url` or a `directory`.
   */
  readonly url?: string;
  /** The root directory (absolute; created when absent). */
  readonly directory?: string;
}

/**
 * What `options` configure, checked.
 *
 * @throws ConfigurationError naming the bad option or URL part.
 */
export function fileSettings(options: FileBackendOptions, what: string): FileSettings {
  checkConfiguration(options, {
    what,
    known: ["url", "directory", ...FILE_BOUND_NAMES],
    example: '{ directory: "/var/cache/app", maxSize: 1_000_000_000 }',
  });
  if ((options.url === undefined) === (options.directory === undefined)) {
    throw new ConfigurationError(
      `${what} takes a url or a directory (one of them), as in { directory: "/var/cache/app" }`,
    );
  }
  let settings: FileSettings;
  if (options.url === undefined) {
    settings = { directory: checkFileDirectory(options.directory ?? ""), bounds: DEFAULT_FILE_BOUNDS };
  } else {
    const url = new CacheUrl(options.url);
    if (url.scheme !== "file") throw new ConfigurationError(`${url.scheme}:// is not a file URL`);
    settings = fileSettingsFromUrl(url, url.parametersFor("file"));
    url.rejectUnreadParameters();
  }
  const bounds: FileBounds = { ...settings.bounds, ...definedFileBounds(options) };
  checkFileBounds({ ...bounds });
  return { ...settings, bounds };
}
