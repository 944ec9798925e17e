// Packs the library and installs the tarball into a new empty project, as a user's `npm install` would.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/** Packs the library and installs the tarball into a new empty project; returns the project's folder. */
export function installPackedInto(prefix, name) {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", folder], {
    cwd: root,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .pop();
  writeFileSync(join(folder, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", join(folder, packed)], {
    cwd: folder,
    stdio: "pipe",
  });
  return folder;
}
