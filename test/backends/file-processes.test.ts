/** D1: processes sharing a file backend's directory, one killed mid-write, never see half a value. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { FileBackend } from "../../src/backends/file/backend.js";
import { entryPath } from "../../src/backends/file/layout.js";

const CHILD = fileURLToPath(new URL("../support/file-child.ts", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "cachetory-file-d1-"));
after(() => {
  rmSync(root, { recursive: true, force: true });
});

interface Seen {
  readonly writes: number;
  readonly hits: number;
  readonly misses: number;
  readonly torn: number;
}

/** A child process of file-child.ts; `started` settles once it runs, `finished` with what it saw. */
function startChild(directory: string, writer: number, duration: number, big = false) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CHILD, directory, String(writer), String(duration), ...(big ? ["big"] : [])],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  let errors = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
  const started = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (output.includes("started\n")) resolve();
    };
    child.stdout.on("data", check);
    child.once("exit", () => {
      reject(new Error(`child ${String(writer)} ended before it started: ${errors}`));
    });
  });
  const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null; seen: Seen | undefined }>(
    (resolve) => {
      child.once("exit", (code, signal) => {
        const last = output.trim().split("\n").at(-1) ?? "";
        resolve({ code, signal, seen: last.startsWith("{") ? (JSON.parse(last) as Seen) : undefined });
      });
    },
  );
  return { child, started, finished, errors: () => errors };
}

/** The temporary files under `directory`. */
function temporaryFiles(directory: string): string[] {
  return readdirSync(directory, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith(".tmp"));
}

function statSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function isWhole(value: Buffer): boolean {
  return value.length >= 32 && createHash("sha256").update(value.subarray(32)).digest().equals(value.subarray(0, 32));
}

describe("file backend across processes (D1)", () => {
  it(
    "4 processes write and read the same keys, one is killed mid-write: no torn read, ever",
    { timeout: 120_000 },
    async () => {
      const directory = join(root, "shared");
      const writers = [0, 1, 2].map((writer) => startChild(directory, writer, 4000));
      await Promise.all(writers.map(({ started }) => started));
      // Writers of 4–16 MB values killed while the others go on, until one is killed in the middle of a
      // write (its temporary file is left behind; the others leave none once they end).
      let kills = 0;
      for (; kills < 6; kills++) {
        const victim = startChild(directory, 4, 60_000, true);
        await victim.started;
        await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 200));
        assert.ok(victim.child.pid !== undefined);
        process.kill(victim.child.pid, "SIGKILL");
        assert.equal((await victim.finished).signal, "SIGKILL");
        // The other writers' values are under 256 KB: a larger temporary file is the victim's.
        if (temporaryFiles(directory).some((name) => statSize(join(directory, name)) > 256 << 10)) break;
      }
      const results = await Promise.all(writers.map(({ finished }) => finished));
      for (const [index, { code, seen }] of results.entries()) {
        assert.equal(code, 0, writers[index]?.errors());
        assert.ok(seen !== undefined);
        assert.equal(seen.torn, 0, JSON.stringify(seen));
        assert.ok(seen.writes > 10 && seen.hits > 10, JSON.stringify(seen));
      }
      const leftovers = temporaryFiles(directory);
      const backend = new FileBackend({ directory, sweepInterval: 0 });
      try {
        // Every key reads as one whole value (or a miss), whatever the killed writer left.
        for (let index = 0; index < 8; index++) {
          const value = await backend.get(`shared:${String(index)}`);
          assert.ok(value === undefined || isWhole(value), `shared:${String(index)}`);
        }
        // A file cut short (as by a crash of the machine with a lazy file system) is a miss.
        const path = entryPath(directory, Buffer.from("shared:0"));
        truncateSync(path, Math.floor(statSync(path).size / 2));
        assert.equal(await backend.get("shared:0"), undefined);
        assert.equal(await backend.has("shared:0"), false);
        // The killed writer's temporary files are never listed as keys.
        const { keys } = await backend.scan("0", { count: 100_000 });
        assert.ok(
          keys.every((key) => /^shared:[1-7]$/.test(key)),
          keys.join(","),
        );
      } finally {
        await backend.close();
      }
      // What the test proves depends on the kill landing in a write: a half-written temporary file says it did.
      assert.ok(leftovers.length >= 1, `none of ${String(kills)} killed writers was killed mid-write`);
    },
  );
});
