import { ConfigurationError } from "../errors.js";
import { moduleRequire } from "./module-require.js";

const loaded = new Map<string, unknown>();

/**
 * Loads an optional peer dependency on first use and memoises it, so that a scheme that does not
 * need the package never loads it.
 *
 * @param packageName - The npm package to load, e.g. `"msgpackr"`.
 * @param neededFor - What needs it, for the message: `"msgpack://"`.
 * @param installSpec - What to install, when a version must be named: `"better-sqlite3@12"`.
 * @throws ConfigurationError saying which package to install (the loader's error is the `cause`).
 */
export function loadOptional(packageName: string, neededFor: string, installSpec: string = packageName): unknown {
  if (loaded.has(packageName)) return loaded.get(packageName);
  let loadedModule: unknown;
  try {
    loadedModule = moduleRequire(packageName);
  } catch (cause) {
    const missing = (cause as { code?: unknown } | null)?.code === "MODULE_NOT_FOUND";
    throw new ConfigurationError(
      missing
        ? `${neededFor} needs the optional package "${packageName}", which is not installed: run \`npm install ${installSpec}\``
        : `${neededFor} needs the optional package "${packageName}", which is installed but failed to load (see cause)`,
      { cause },
    );
  }
  loaded.set(packageName, loadedModule);
  return loadedModule;
}

/**
 * Checks that an optional peer is installed without loading it (for code that loads it elsewhere,
 * such as in a worker thread), so that a missing package is reported where the caller can see it.
 *
 * @throws ConfigurationError saying which package to install.
 */
export function requireInstalled(packageName: string, neededFor: string): void {
  if (loaded.has(packageName)) return;
  try {
    moduleRequire.resolve(packageName);
  } catch (cause) {
    throw new ConfigurationError(
      `${neededFor} needs the optional package "${packageName}", which is not installed: run \`npm install ${packageName}\``,
      { cause },
    );
  }
}
