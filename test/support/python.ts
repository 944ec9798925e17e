import { spawnSync } from "node:child_process";

/**
 * A Python 3 interpreter with the modules `names`, or the reason there is none. Debian's
 * /usr/bin/python3 comes first: that is where `apt-get install python3-msgpack python3-zstd python3-redis` puts them.
 */
export function findPython(names: readonly string[]): { python: string } | { reason: string } {
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", names.map((name) => `import ${name}`).join("; ") || "pass"], {
      encoding: "utf8",
    });
    if (probe.status === 0) return { python };
  }
  return {
    reason: `no python3 with the modules ${names.join(", ")} (apt-get install python3-msgpack python3-zstd python3-redis)`,
  };
}

/** Runs a Python script with JSON on stdin and returns its JSON answer. */
export function runPython(python: string, script: string, input: unknown): unknown {
  const result = spawnSync(python, ["-c", script], {
    input: JSON.stringify(input),
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`python failed (${String(result.status)}): ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown;
}
