#!/usr/bin/env node
/**
 * The `cachetory` command: get, keys, ttl, delete, clear and stats on any backend URL, for looking at
 * what a cache holds (a Redis shared with Python services included: `--serializer pickle://`).
 *
 * @module
 */
import { once } from "node:events";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { Cache } from "../cache/cache.js";
import { redactUrl } from "../internal/cache-url.js";
import { toJsonText } from "./json-value.js";
import { Progress } from "./progress.js";
import { USAGE } from "./usage.js";

/** A mistake of the caller's: exit 2 with the message and a pointer to the help. */
class UsageError extends Error {}

const SUCCESS = 0;
const ABSENT = 1;
const FAILED = 2;
const DELETE_BATCH = 500;

const OPTIONS = {
  serializer: { type: "string" },
  prefix: { type: "string" },
  match: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
  yes: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Parsed = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** Writes `text` to stdout, waiting when the pipe is full, so that a long listing never piles up in memory. */
async function print(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, "drain");
}

function cacheFor(url: string, values: Parsed): Cache {
  return new Cache<unknown>({
    backend: url,
    serializer: values.serializer ?? "json://",
    prefix: values.prefix ?? "",
    // A tool that looks must not change what it looks at: a value that does not decode is reported, not deleted.
    undecodableValues: "throw",
    failedReads: "throw",
    onError: () => undefined,
  });
}

function positional(positionals: readonly string[], index: number, what: string, command: string): string {
  const value = positionals[index];
  if (value === undefined) throw new UsageError(`cachetory ${command} needs ${what}`);
  return value;
}

function limitOf(values: Parsed): number {
  if (values.limit === undefined) return Number.POSITIVE_INFINITY;
  const limit = Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new UsageError(`--limit takes a whole number of keys ≥ 1, got ${JSON.stringify(values.limit)}`);
  }
  return limit;
}

async function confirmed(question: string): Promise<boolean> {
  const reader = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await reader.question(`${question} [y/N] `)).trim());
  } finally {
    reader.close();
  }
}

async function command(name: string, url: string, positionals: readonly string[], values: Parsed): Promise<number> {
  const cache = cacheFor(url, values);
  try {
    switch (name) {
      case "get": {
        const key = positional(positionals, 2, "a key", name);
        const missing = Symbol("missing");
        const value = await cache.get(key, missing);
        if (value === missing) {
          process.stderr.write(`no entry for ${JSON.stringify(key)}\n`);
          return ABSENT;
        }
        await print(`${toJsonText(value)}\n`);
        return SUCCESS;
      }
      case "ttl": {
        const key = positional(positionals, 2, "a key", name);
        const left = await cache.ttl(key);
        if (left === undefined) {
          process.stderr.write(`no entry for ${JSON.stringify(key)}\n`);
          return ABSENT;
        }
        await print(`${left === null ? "none" : String(left)}\n`);
        return SUCCESS;
      }
      case "delete": {
        const key = positional(positionals, 2, "a key", name);
        if (!(await cache.delete(key))) {
          process.stderr.write(`no entry for ${JSON.stringify(key)}\n`);
          return ABSENT;
        }
        await print("deleted\n");
        return SUCCESS;
      }
      case "keys":
      case "stats": {
        const limit = limitOf(values);
        const progress = new Progress("keys");
        for await (const key of cache.keys({ match: values.match })) {
          if (name === "keys") await print(`${key}\n`);
          progress.add(1);
          if (progress.count >= limit) break;
        }
        progress.end();
        if (name === "stats") {
          await print(
            `${toJsonText({ backend: redactUrl(url), prefix: values.prefix ?? "", keys: progress.count })}\n`,
          );
        }
        return SUCCESS;
      }
      case "clear":
        return await clear(cache, url, values);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    }
  } finally {
    await cache.close();
  }
}

async function clear(cache: Cache, url: string, values: Parsed): Promise<number> {
  const prefix = values.prefix ?? "";
  if (prefix === "" && values.all !== true) {
    throw new UsageError("clear deletes the keys under --prefix; to empty the whole backend, give --all --yes");
  }
  const what =
    prefix === "" ? `every key in ${redactUrl(url)}` : `every key under ${JSON.stringify(prefix)} in ${redactUrl(url)}`;
  if (values.yes !== true) {
    if (prefix === "" || !process.stdin.isTTY) {
      throw new UsageError(
        `clear would delete ${what}: give --yes${prefix === "" ? "" : " (stdin is not a terminal to ask on)"}`,
      );
    }
    if (!(await confirmed(`Delete ${what}?`))) {
      process.stderr.write("nothing deleted\n");
      return FAILED;
    }
  }
  if (prefix === "") {
    await cache.clear();
    await print("cleared\n");
    return SUCCESS;
  }
  const progress = new Progress("keys deleted");
  let batch: string[] = [];
  let deleted = 0;
  for await (const key of cache.keys()) {
    batch.push(key);
    if (batch.length < DELETE_BATCH) continue;
    deleted += await cache.deleteMany(...batch);
    progress.add(batch.length);
    batch = [];
  }
  if (batch.length > 0) {
    deleted += await cache.deleteMany(...batch);
    progress.add(batch.length);
  }
  progress.end();
  await print(`${String(deleted)}\n`);
  return SUCCESS;
}

/** Runs the command line `argv` (without `node` and the script); the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`cachetory: ${(error as Error).message}\nRun "cachetory --help" for usage.\n`);
    return FAILED;
  }
  const { values, positionals } = parsed;
  const name = positionals[0] ?? "";
  if (values.help === true || name === "" || name === "help") {
    const text = USAGE[name === "help" ? (positionals[1] ?? "") : name] ?? USAGE[""];
    await print(`${text ?? ""}\n`);
    return name === "" && values.help !== true ? FAILED : SUCCESS;
  }
  try {
    if (USAGE[name] === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    return await command(name, positional(positionals, 1, "a backend URL", name), positionals, values);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint =
      error instanceof UsageError
        ? `\nRun "cachetory ${USAGE[name] === undefined ? "" : `${name} `}--help" for usage.`
        : "";
    const serializerHint =
      (error as { code?: unknown }).code === "CACHETORY_SERIALIZATION" && values.serializer === undefined
        ? "\n(the value may have been written with another serializer: try --serializer pickle:// or msgpack://)"
        : "";
    process.stderr.write(`cachetory: ${message}${hint}${serializerHint}\n`);
    return FAILED;
  }
}

// Exit once stdout has been written out, even if a backend left a timer behind.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  // The reader went away (`cachetory keys … | head`): that is not a failure.
  if (error.code === "EPIPE") process.exit(SUCCESS);
});
void main(process.argv.slice(2)).then((status) => {
  process.stdout.write("", () => process.exit(status));
});
