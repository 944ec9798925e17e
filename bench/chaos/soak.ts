/**
 * L9, the chaos soak (opt-in, reported): 1 000 operations a second of set, get, getMany, getOrSet and
 * deleteByTag over a standalone Redis (behind a fault proxy), a Sentinel deployment and a Cluster in turn,
 * with a random fault every 5–20 s, and a checker:
 *
 * - every value read carries its key (else: wrong key) and a version that was written (else: corrupted);
 * - no read returns a version older than one acknowledged before the read started and sent after the older
 *   one was acknowledged (stale), unless the docs say it can: a write acknowledged and then lost in a
 *   failover; each stale read is counted against the fault that came last. A version whose write failed
 *   or timed out (and was applied all the same, late) is counted apart;
 * - no entry written before a `deleteByTag` that was acknowledged is read after it (served after delete);
 * - no operation left unsettled past its deadline (+ 1.5 s for a busy machine), no unhandled rejection;
 * - RSS bounded.
 *
 *   npm run bench:chaos -- soak                 (SOAK_MINUTES=10 by default, split over the three setups)
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError } from "../../src/errors.js";
import { FaultProxy } from "../../test/support/fault-proxy.js";
import { RedisCluster } from "../../test/support/redis-cluster.js";
import { MASTER_NAME, RedisSentinelSet } from "../../test/support/redis-sentinel.js";
import { rawCommand, RedisServer } from "../../test/support/redis-server.js";
import { loadSlotFunction } from "../../src/backends/redis/drivers/driver.js";

const MINUTES = Math.min(60, Math.max(0.5, Number(process.env["SOAK_MINUTES"] ?? 10)));
const RATE = 1000;
const KEYS = 1000;
const TAGS = 10;
const TIMEOUT = 500;
const UNSETTLED_AFTER = TIMEOUT + 1500;

interface Value {
  readonly key: string;
  readonly version: number;
}

interface FaultReport {
  count: number;
  operations: number;
  errors: number;
  stale: number;
  servedAfterDelete: number;
  /**
   * The longest recovery: from the end of the fault (its action done) to the last error before a full
   * second without any (0 when none failed after it).
   */
  recoveryMs: number;
}

interface Setup {
  readonly name: string;
  readonly url: string;
  readonly faults: Readonly<Record<string, () => Promise<void>>>;
  stop(): Promise<void>;
}

const totals = {
  operations: 0,
  errors: 0,
  untypedErrors: 0,
  wrongKey: 0,
  corrupted: 0,
  stale: 0,
  lateWrites: 0,
  servedAfterDelete: 0,
  unsettled: 0,
  unhandled: 0,
};
const untypedSamples = new Set<string>();
process.on("unhandledRejection", () => totals.unhandled++);
process.on("uncaughtException", () => totals.unhandled++);

const keyName = (index: number): string => `k${String(index)}`;
const tagOf = (key: string): string => `g${String(Number(key.slice(1)) % TAGS)}`;

/** Runs the load and the faults over one setup for `milliseconds`; what each fault kind did. */
async function soak(setup: Setup, milliseconds: number): Promise<Map<string, FaultReport>> {
  const backend = new RedisBackend({ url: setup.url, timeout: TIMEOUT });
  const cache = new Cache<Value>({ backend, serializer: "json+checksum://", onError: () => {} });
  /** Per key: the highest version sent, and the times of its last 32 versions' writes. */
  const sent = new Map<string, number>();
  const writes = new Map<string, Map<number, { sentAt: number; ackAt?: number }>>();
  /** Per tag: when the last acknowledged deleteByTag started and was acknowledged. */
  const deletes = new Map<string, { started: number; done: number }>();
  const pending = new Map<number, number>();
  const reports = new Map<string, FaultReport>();
  let lastFault: { kind: string; endedAt: number; errors: number[] } | undefined;
  /** The recovery of a fault once the next one starts (or the soak ends), from the times of its errors. */
  const closeFault = (): void => {
    if (lastFault === undefined) return;
    let recovered = lastFault.endedAt;
    for (const at of lastFault.errors) {
      if (at - recovered >= 1000) break;
      recovered = Math.max(recovered, at);
    }
    const report = reports.get(lastFault.kind) as FaultReport;
    report.recoveryMs = Math.max(report.recoveryMs, recovered - lastFault.endedAt);
  };
  let nextId = 0;

  /** When each recent version of a key was sent, and, once its write was acknowledged, when that was. */
  const writeTimes = (key: string): Map<number, { sentAt: number; ackAt?: number }> => {
    let times = writes.get(key);
    if (times === undefined) writes.set(key, (times = new Map()));
    return times;
  };
  const acknowledge = (key: string, version: number): void => {
    const write = writeTimes(key).get(version);
    if (write !== undefined) write.ackAt = performance.now();
  };
  /** The highest version acknowledged before `time`, with its times. */
  const floorAt = (key: string, time: number): { version: number; sentAt: number } | undefined => {
    let floor: { version: number; sentAt: number } | undefined;
    for (const [version, { sentAt, ackAt }] of writeTimes(key)) {
      if (ackAt !== undefined && ackAt < time && version > (floor?.version ?? 0)) floor = { version, sentAt };
    }
    return floor;
  };
  const count = (field: "stale" | "servedAfterDelete" | "lateWrites"): void => {
    totals[field]++;
    if (lastFault !== undefined && field !== "lateWrites") (reports.get(lastFault.kind) as FaultReport)[field]++;
  };
  const check = (key: string, value: Value | undefined, startedAt: number): void => {
    if (value === undefined) return;
    if (typeof value !== "object" || typeof value.version !== "number") {
      totals.corrupted++;
      return;
    }
    if (value.key !== key) {
      totals.wrongKey++;
      return;
    }
    if (value.version > (sent.get(key) ?? 0)) {
      totals.corrupted++;
      return;
    }
    const read = writeTimes(key).get(value.version);
    const floor = floorAt(key, startedAt);
    if (floor !== undefined && value.version < floor.version) {
      // Older than a write acknowledged before this read began. Two writes in flight at once may land in
      // either order, so only one acknowledged before the newer was sent is stale; one never acknowledged
      // (it failed, or timed out, and may still have been applied) is a late write.
      if (read?.ackAt === undefined) count("lateWrites");
      else if (read.ackAt < floor.sentAt) count("stale");
    }
    const deleted = deletes.get(tagOf(key));
    if (
      deleted !== undefined &&
      read?.ackAt !== undefined &&
      read.ackAt < deleted.started &&
      startedAt > deleted.done
    ) {
      count("servedAfterDelete");
    }
  };
  const nextVersion = (key: string): number => {
    const version = (sent.get(key) ?? 0) + 1;
    sent.set(key, version);
    const times = writeTimes(key);
    times.set(version, { sentAt: performance.now() });
    if (times.size > 32) times.delete(times.keys().next().value as number);
    return version;
  };

  const operation = async (): Promise<void> => {
    const key = keyName(Math.floor(Math.random() * KEYS));
    const startedAt = performance.now();
    const roll = Math.random();
    if (roll < 0.3) {
      const version = nextVersion(key);
      await cache.set(key, { key, version }, { tags: [tagOf(key)], timeToLive: 60_000 });
      acknowledge(key, version);
    } else if (roll < 0.65) {
      check(key, await cache.get(key), startedAt);
    } else if (roll < 0.75) {
      const keys = [key, keyName((Number(key.slice(1)) + 1) % KEYS), keyName((Number(key.slice(1)) + 7) % KEYS)];
      const found = await cache.getMany(...keys);
      for (const each of keys) check(each, found.get(each), startedAt);
    } else if (roll < 0.97) {
      let computed: number | undefined;
      const value = await cache.getOrSet(key, () => ({ key, version: (computed = nextVersion(key)) }), {
        timeToLive: 60_000,
        tags: [tagOf(key)],
      });
      if (computed !== undefined && value.version === computed) acknowledge(key, computed);
      else check(key, value, startedAt);
    } else {
      const tag = `g${String(Math.floor(Math.random() * TAGS))}`;
      await cache.deleteByTag(tag);
      deletes.set(tag, { started: startedAt, done: performance.now() });
    }
  };

  const run = (): void => {
    const id = nextId++;
    pending.set(id, performance.now());
    totals.operations++;
    const fault = lastFault;
    if (fault !== undefined) (reports.get(fault.kind) as FaultReport).operations++;
    operation()
      .catch((error: unknown) => {
        totals.errors++;
        if (fault !== undefined) {
          (reports.get(fault.kind) as FaultReport).errors++;
          if (fault.errors.length < 100_000) fault.errors.push(performance.now());
        }
        if (!(error instanceof BackendError)) {
          totals.untypedErrors++;
          untypedSamples.add(String(error).slice(0, 200));
        }
      })
      .finally(() => pending.delete(id));
  };

  const ends = performance.now() + milliseconds;
  // Open loop: 10 operations every 10 ms, whatever the answers.
  const ticker = setInterval(() => {
    for (let index = 0; index < RATE / 100; index++) run();
  }, 10);
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [id, startedAt] of pending) {
      if (now - startedAt > UNSETTLED_AFTER) {
        totals.unsettled++;
        pending.delete(id);
      }
    }
  }, 250);
  const kinds = Object.keys(setup.faults);
  try {
    await sleep(3000);
    while (performance.now() < ends - 5000) {
      await sleep(5000 + Math.random() * 15_000);
      if (performance.now() > ends - 3000) break;
      const kind = kinds[Math.floor(Math.random() * kinds.length)] as string;
      const report = reports.get(kind) ?? {
        count: 0,
        operations: 0,
        errors: 0,
        stale: 0,
        servedAfterDelete: 0,
        recoveryMs: 0,
      };
      reports.set(kind, report);
      report.count++;
      closeFault();
      const fault = { kind, endedAt: Number.POSITIVE_INFINITY, errors: [] as number[] };
      lastFault = fault;
      await (setup.faults[kind] as () => Promise<void>)();
      fault.endedAt = performance.now();
      console.error(`  ${setup.name}: ${kind}`);
    }
    await sleep(Math.max(0, ends - performance.now()));
  } finally {
    clearInterval(ticker);
    const drained = performance.now();
    while (pending.size > 0 && performance.now() - drained < UNSETTLED_AFTER) await sleep(50);
    clearInterval(watchdog);
    totals.unsettled += pending.size;
    closeFault();
    await cache.close();
  }
  return reports;
}

async function clientKill(port: number): Promise<void> {
  await rawCommand(port, "CLIENT KILL TYPE normal SKIPME yes").catch(() => undefined);
}

async function standalone(): Promise<Setup> {
  const server = await RedisServer.start();
  const proxy = await FaultProxy.start(server.port);
  return {
    name: "standalone",
    url: proxy.url(0),
    faults: {
      "kill -9 + restart": async () => {
        await server.crash();
        await sleep(2000);
        await server.restart();
      },
      "SIGSTOP 3 s + SIGCONT": async () => {
        server.pause();
        await sleep(3000);
        server.resume();
      },
      "blackhole 3 s": async () => {
        proxy.mode = { kind: "blackhole" };
        await sleep(3000);
        proxy.mode = { kind: "pass" };
      },
      "connection reset": () => {
        proxy.resetAll();
        return Promise.resolve();
      },
      "CLIENT KILL": () => clientKill(server.port),
    },
    stop: async () => {
      await proxy.close();
      await server.stop();
    },
  };
}

async function sentinel(): Promise<Setup> {
  const deployment = await RedisSentinelSet.start();
  const current = async (): Promise<RedisServer> => {
    const port = await deployment.masterPort();
    return port === deployment.master.port ? deployment.master : deployment.replica;
  };
  return {
    name: "Sentinel",
    url: deployment.url(0),
    faults: {
      failover: async () => {
        const before = await deployment.masterPort();
        await rawCommand(deployment.sentinels[0]?.port ?? 0, `SENTINEL FAILOVER ${MASTER_NAME}`);
        await deployment.waitForNewMaster(before, 30_000).catch(() => undefined);
      },
      "kill -9 master + restart": async () => {
        const master = await current();
        const before = master.port;
        await master.crash();
        await deployment.waitForNewMaster(before, 30_000).catch(() => undefined);
        await master.restart();
        await RedisSentinelSet.waitUntilReplicating(master, 30_000).catch(() => undefined);
      },
      "SIGSTOP master 3 s": async () => {
        const master = await current();
        master.pause();
        await sleep(3000);
        master.resume();
      },
      "CLIENT KILL": async () => clientKill((await current()).port),
    },
    stop: () => deployment.stop(),
  };
}

async function cluster(): Promise<Setup> {
  const nodes = await RedisCluster.start();
  const slotOf = loadSlotFunction();
  const randomNode = (): RedisServer => nodes.nodes[Math.floor(Math.random() * nodes.nodes.length)] as RedisServer;
  const waitHealthy = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const states = await Promise.all(
        nodes.nodes.map((node) => rawCommand(node.port, "CLUSTER INFO", 500, true).catch(() => "")),
      );
      if (states.every((info) => info.includes("cluster_state:ok"))) return;
      await sleep(100);
    }
  };
  return {
    name: "Cluster",
    url: nodes.url(),
    faults: {
      "reshard a slot": async () => {
        const slot = slotOf(keyName(Math.floor(Math.random() * KEYS)));
        await nodes.migrateSlot(slot, randomNode().port).catch((error: unknown) => {
          console.error(`  reshard failed: ${String(error)}`);
        });
      },
      "kill -9 master + restart": async () => {
        const node = randomNode();
        await node.crash();
        await sleep(3000);
        await node.restart();
        await waitHealthy();
      },
      "SIGSTOP master 3 s": async () => {
        const node = randomNode();
        node.pause();
        await sleep(3000);
        node.resume();
      },
      "CLIENT KILL": () => clientKill(randomNode().port),
    },
    stop: () => nodes.stop(),
  };
}

const started = performance.now();
const rss: number[] = [];
const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 1000);
const sections: string[] = [];
for (const make of [standalone, sentinel, cluster]) {
  const setup = await make();
  console.error(`${setup.name}: ${String((MINUTES * 60) / 3)} s`);
  try {
    const reports = await soak(setup, (MINUTES * 60_000) / 3);
    const rows = [...reports].map(
      ([kind, report]) =>
        `| ${setup.name} | ${kind} | ${String(report.count)} | ${String(report.operations)} | ${String(report.errors)} | ${String(report.stale)} | ${String(report.servedAfterDelete)} | ${report.recoveryMs.toFixed(0)} |`,
    );
    sections.push(...rows);
  } finally {
    await setup.stop();
  }
}
clearInterval(sampler);
const warm = rss.slice(Math.min(rss.length - 1, 30));
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

console.log(
  `\n### Chaos soak: ${MINUTES.toFixed(1)} minutes, ${String(RATE)} operations/s (${new Date().toISOString().slice(0, 10)})\n`,
);
console.log(
  "| setup | fault | times | operations after it | errors | stale reads | served after deleteByTag | recovered within (ms) |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const row of sections) console.log(row);
console.log(`
| check | count |
| --- | ---: |
| operations | ${String(totals.operations)} |
| errors (all BackendError: timeouts, refusals, CLUSTERDOWN) | ${String(totals.errors - totals.untypedErrors)} |
| errors of another type | ${String(totals.untypedErrors)} |
| wrong-key values | ${String(totals.wrongKey)} |
| corrupted values | ${String(totals.corrupted)} |
| stale reads (older than a write acknowledged before the read, and written before it) | ${String(totals.stale)} |
| late writes read (a write that failed or timed out, applied after a newer one) | ${String(totals.lateWrites)} |
| entries served after an acknowledged deleteByTag | ${String(totals.servedAfterDelete)} |
| operations unsettled ${String(UNSETTLED_AFTER)} ms after they started | ${String(totals.unsettled)} |
| unhandled rejections or exceptions | ${String(totals.unhandled)} |

RSS after 30 s ${mb(warm[0] ?? 0)} MB, at most ${mb(Math.max(...warm))} MB, at the end ${mb(warm.at(-1) ?? 0)} MB; ${((performance.now() - started) / 60_000).toFixed(1)} minutes in all.`);
if (untypedSamples.size > 0) console.log(`\nErrors of another type: ${[...untypedSamples].join("; ")}`);
const failed = totals.wrongKey + totals.corrupted + totals.unsettled + totals.unhandled + totals.untypedErrors;
process.exitCode = failed === 0 ? 0 : 1;
