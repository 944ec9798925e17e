/**
 * `cachetory/otel`: OpenTelemetry spans and metrics from the `cachetory:operation` channel, with
 * `@opentelemetry/api` as an optional peer loaded only here. See docs/observability.md.
 *
 * @example
 * ```ts
 * import { instrumentCachetory } from "cachetory/otel";
 * const instrumentation = instrumentCachetory({ tracerProvider, meterProvider });
 * // … later
 * instrumentation.stop();
 * ```
 *
 * @module
 */

import { tracingChannel } from "node:diagnostics_channel";
import type * as OpenTelemetry from "@opentelemetry/api";
import { loadOptional } from "../internal/load-optional.js";
import type { OperationContext } from "../observability/channels.js";

/** Where the spans and metrics go; each defaults to the global provider of `@opentelemetry/api`. */
export interface CachetoryInstrumentationOptions {
  /** Spans `cache.get`, `cache.set`, … with `cache.name`, `cache.backend`, `cache.hit`, `cache.tier`, `cache.stale`. */
  readonly tracerProvider?: OpenTelemetry.TracerProvider | undefined;
  /** Metrics `cachetory.requests` and `cachetory.operation.duration`. */
  readonly meterProvider?: OpenTelemetry.MeterProvider | undefined;
}

/** A running instrumentation: `stop()` unsubscribes it (spans already started still end). */
export interface CachetoryInstrumentation {
  /** Stops producing spans and metrics for later operations. */
  stop(): void;
}

/** What a span in progress keeps until its operation ends. */
interface Open {
  readonly span: OpenTelemetry.Span;
  readonly started: number;
}

/** The outcome of a single-key read, as the `cache.result` attribute of `cachetory.requests`. */
function resultOf(context: OperationContext): string {
  if (context.error !== undefined) return "error";
  if (context.hit === undefined) return "none";
  if (!context.hit) return "miss";
  return context.stale === true ? "stale" : "hit";
}

/**
 * Subscribes to `cachetory:operation` and turns every cache operation into a span and into metrics:
 * `cachetory.requests` (a counter of keys, by `cache.name`, `cache.operation`, `cache.tier` and
 * `cache.result`: `hit`, `stale`, `miss`, `error` or `none` for writes) and `cachetory.operation.duration`
 * (a histogram in seconds, by `cache.name` and `cache.operation`). Keys appear as `cache.key` only on caches
 * created with `traceKeys: true`, and never on metrics.
 *
 * Backend commands keep their own spans from their client's instrumentation (node-redis, ioredis): this
 * adds none of its own, so there are no doubled spans; install both to see both.
 *
 * @throws ConfigurationError when `@opentelemetry/api` is not installed (with the command that installs it).
 * @example
 * ```ts
 * import { instrumentCachetory } from "cachetory/otel";
 * instrumentCachetory({ meterProvider });
 * ```
 */
export function instrumentCachetory(options: CachetoryInstrumentationOptions = {}): CachetoryInstrumentation {
  const api = loadOptional("@opentelemetry/api", "cachetory/otel") as typeof OpenTelemetry;
  const tracer = (options.tracerProvider ?? api.trace.getTracerProvider()).getTracer("cachetory");
  const meter = (options.meterProvider ?? api.metrics.getMeterProvider()).getMeter("cachetory");
  const requests = meter.createCounter("cachetory.requests", {
    description: "Keys read and written through cachetory caches, by outcome",
    unit: "{request}",
  });
  const duration = meter.createHistogram("cachetory.operation.duration", {
    description: "How long cachetory cache operations took",
    unit: "s",
    // Seconds, from a near hit (well under 100 µs) to a deadline (seconds): the SDK's default bounds are for milliseconds.
    advice: {
      explicitBucketBoundaries: [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
      ],
    },
  });
  const open = new WeakMap<object, Open>();

  const finish = (context: OperationContext): void => {
    const started = open.get(context);
    if (started === undefined) return;
    open.delete(context);
    const { span } = started;
    const common = { "cache.name": context.cache, "cache.operation": context.operation };
    if (context.hit !== undefined) span.setAttribute("cache.hit", context.hit);
    if (context.tier !== undefined) span.setAttribute("cache.tier", context.tier);
    if (context.stale !== undefined) span.setAttribute("cache.stale", context.stale);
    if (context.hits !== undefined && context.misses !== undefined) {
      span.setAttribute("cache.hits", context.hits);
      span.setAttribute("cache.misses", context.misses);
      requests.add(context.hits, { ...common, "cache.tier": "backend", "cache.result": "hit" });
      requests.add(context.misses, { ...common, "cache.tier": "backend", "cache.result": "miss" });
    } else {
      requests.add(1, {
        ...common,
        "cache.tier": context.tier ?? "backend",
        "cache.result": resultOf(context),
      });
    }
    const errorType = context.error instanceof Error ? context.error.name : undefined;
    duration.record(
      (performance.now() - started.started) / 1000,
      errorType === undefined ? common : { ...common, "error.type": errorType },
    );
    span.end();
  };

  const handlers = {
    start: (context: OperationContext): void => {
      const attributes: OpenTelemetry.Attributes = {
        "cache.name": context.cache,
        "cache.backend": context.backend,
        "cache.operation": context.operation,
      };
      if (context.key !== undefined) attributes["cache.key"] = context.key;
      const span = tracer.startSpan(`cache.${context.operation}`, { kind: api.SpanKind.CLIENT, attributes });
      open.set(context, { span, started: performance.now() });
    },
    // A synchronous operation (SyncCache) ends here, with its result or error set; an async one later.
    end: (context: OperationContext): void => {
      if ("result" in context || "error" in context) finish(context);
    },
    asyncStart: (): void => undefined,
    asyncEnd: finish,
    error: (context: OperationContext): void => {
      const span = open.get(context)?.span;
      if (span === undefined) return;
      const error = context.error;
      if (error instanceof Error) span.recordException(error);
      span.setStatus({
        code: api.SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    },
  };
  const channel = tracingChannel<unknown, OperationContext>("cachetory:operation");
  channel.subscribe(handlers);
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      channel.unsubscribe(handlers);
    },
  };
}
