/**
 * The quickstart: `npm install && npm run example`. Uses the memory backend, or Redis when REDIS_URL is
 * set (`REDIS_URL=redis://127.0.0.1:6379/0 npm run example`).
 */
import { Cache } from "cachetory";

interface User {
  readonly id: number;
  readonly name: string;
  readonly roles: string[];
}

async function loadUser(id: number): Promise<User> {
  await new Promise((resolve) => setTimeout(resolve, 50)); // a slow database
  return { id, name: `user ${String(id)}`, roles: ["reader"] };
}

const backend = process.env.REDIS_URL || "memory://";
await using cache = new Cache<User>({ backend, serializer: "msgpack+zstd://?compression-level=3", prefix: "example:" });
console.log(`backend: ${backend.split("://")[0] ?? ""}://`);

for (const attempt of [1, 2]) {
  const started = performance.now();
  let user = await cache.get("user:1");
  if (user === undefined) {
    user = await loadUser(1);
    await cache.set("user:1", user, { timeToLive: "5m" });
  }
  console.log(`attempt ${String(attempt)}: ${user.name} in ${(performance.now() - started).toFixed(1)} ms`);
}

// The same in one call: fresh for 5 minutes, then served stale for a minute while one refresh runs,
// then for an hour more whenever the database fails.
const freshness = { timeToLive: "5m", staleWhileRevalidate: "1m", grace: "1h" } as const;
let databaseCalls = 0;
const load4 = (): Promise<User> => (databaseCalls++, loadUser(4));
const viaGetOrSet = await Promise.all([1, 2, 3].map(() => cache.getOrSet("user:4", load4, freshness)));
console.log(
  `getOrSet: ${viaGetOrSet.map((user) => user.name).join(", ")} (${String(databaseCalls)} database call for three callers)`,
);
const failing = await cache.getOrSet("user:4", () => Promise.reject(new Error("db down")), freshness);
console.log(`getOrSet while fresh, with a failing database: ${failing.name}`);

await cache.setMany({ "user:2": await loadUser(2), "user:3": await loadUser(3) }, { timeToLive: "1h" });
console.log("getMany:", [...(await cache.getMany("user:1", "user:2", "user:404")).keys()]);
console.log(
  "ifNotExists on a present key stored:",
  await cache.set("user:1", await loadUser(1), { ifNotExists: true }),
);
console.log("deleted user:3:", await cache.delete("user:3"));
await cache.clear();
console.log("after clear, has user:1:", await cache.has("user:1"));
