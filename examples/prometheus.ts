/**
 * cachetory's metrics for Prometheus: `npx tsx examples/prometheus.ts`, then open
 * http://127.0.0.1:9464/metrics (`METRICS_PORT` to change it; the memory backend, or Redis when REDIS_URL
 * is set). A few readers and a writer make traffic: hits, misses, stale serves and refreshes.
 */
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { Cache } from "cachetory";
import { instrumentCachetory } from "cachetory/otel";

interface User {
  readonly id: number;
  readonly name: string;
}

const port = Number(process.env["METRICS_PORT"] ?? 9464);
// Loopback only: metrics are for the scraper on this machine (or a sidecar), not the world.
const exporter = new PrometheusExporter({ host: "127.0.0.1", port }, () => {
  console.log(`metrics on http://127.0.0.1:${String(port)}/metrics`);
});
// Prometheus names carry their unit: this exporter does not append it, so a view names the histogram
// cachetory_operation_duration_seconds (the counter already ends in _total).
const meterProvider = new MeterProvider({
  readers: [exporter],
  views: [{ instrumentName: "cachetory.operation.duration", name: "cachetory.operation.duration.seconds" }],
});
instrumentCachetory({ meterProvider });

const users = new Cache<User>({
  backend: process.env["REDIS_URL"] ?? "memory://",
  serializer: "json://",
  prefix: "example:",
  name: "users",
});

async function findUser(id: number): Promise<User> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { id, name: `user ${String(id)}` };
}

const traffic = setInterval(() => {
  const id = Math.floor(Math.random() * 50);
  void users
    .getOrSet(`user:${String(id)}`, () => findUser(id), { timeToLive: "2s", staleWhileRevalidate: "2s" })
    .then(() => users.get(`user:${String((id + 1) % 50)}`))
    .then(() => (id % 10 === 0 ? users.delete(`user:${String(id)}`) : undefined));
}, 10);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(traffic);
    void Promise.all([users.close(), exporter.shutdown()]).then(() => process.exit(0));
  });
}
