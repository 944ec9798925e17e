/**
 * `cachetory/otel` with the OpenTelemetry SDK's in-memory exporters: spans named cache.<operation> with the
 * documented attributes, errors recorded, keys only with traceKeys; the requests counter by result and
 * tier; the duration histogram in seconds; stop() ends it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanStatusCode } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { instrumentCachetory } from "../../src/otel/index.js";

function providers() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { spans, metrics, reader, tracerProvider, meterProvider };
}

describe("cachetory/otel", () => {
  it("spans and metrics for every operation, with hit, tier, stale and errors", async () => {
    const { spans, metrics, reader, tracerProvider, meterProvider } = providers();
    const instrumentation = instrumentCachetory({ tracerProvider, meterProvider });
    try {
      await using cache = new Cache<string>({ backend: "memory://", serializer: "json://", name: "users" });
      await cache.set("a", "A");
      await cache.get("a");
      await cache.get("absent");
      await cache.getMany("a", "b");
      await assert.rejects(
        cache.getOrSet("failing", () => {
          throw new Error("the source is down");
        }),
      );
      using sync = new SyncCache<string>({ backend: "memory://", serializer: "json://", traceKeys: true });
      sync.get("k");
    } finally {
      instrumentation.stop();
    }
    const finished = spans.getFinishedSpans();
    assert.deepEqual(
      finished.map((span) => span.name),
      ["cache.set", "cache.get", "cache.get", "cache.getMany", "cache.getOrSet", "cache.get"],
    );
    const [, hit, miss, many, failed, syncGet] = finished;
    assert.deepEqual(
      { ...hit?.attributes },
      {
        "cache.name": "users",
        "cache.backend": "memory",
        "cache.operation": "get",
        "cache.hit": true,
        "cache.tier": "backend",
        "cache.stale": false,
      },
    );
    assert.equal(miss?.attributes["cache.hit"], false);
    assert.equal(hit?.attributes["cache.key"], undefined, "no keys without traceKeys");
    assert.deepEqual([many?.attributes["cache.hits"], many?.attributes["cache.misses"]], [1, 1]);
    assert.equal(failed?.status.code, SpanStatusCode.ERROR);
    assert.equal(failed?.events[0]?.name, "exception");
    assert.equal(syncGet?.attributes["cache.key"], "k", "a cache with traceKeys");

    await reader.forceFlush();
    const exported = metrics
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    const requests = exported.find((metric) => metric.descriptor.name === "cachetory.requests");
    const duration = exported.find((metric) => metric.descriptor.name === "cachetory.operation.duration");
    assert.ok(requests && duration);
    assert.equal(duration.descriptor.unit, "s");
    const byResult = new Map<string, number>();
    for (const point of requests.dataPoints) {
      const result = `${String(point.attributes["cache.operation"])}/${String(point.attributes["cache.result"])}`;
      byResult.set(result, (byResult.get(result) ?? 0) + (point.value as number));
      assert.equal(point.attributes["cache.key"], undefined, "never a key on a metric");
    }
    assert.deepEqual(Object.fromEntries([...byResult].sort()), {
      "get/hit": 1,
      "get/miss": 2,
      "getMany/hit": 1,
      "getMany/miss": 1,
      "getOrSet/error": 1,
      "set/none": 1,
    });
    await meterProvider.shutdown();
  });

  it("stop() ends it: later operations make no spans", async () => {
    const { spans, tracerProvider, meterProvider } = providers();
    instrumentCachetory({ tracerProvider, meterProvider }).stop();
    await using cache = new Cache<string>({ backend: "memory://", serializer: "json://" });
    await cache.get("a");
    assert.equal(spans.getFinishedSpans().length, 0);
    await meterProvider.shutdown();
  });
});
