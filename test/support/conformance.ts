/** Runs the published conformance suites (cachetory/testing) under node:test, as a third party would. */
import { describe, it } from "node:test";
import type { AsyncBackend } from "../../src/backends/contract.js";
import type { Serializer } from "../../src/serializers/contract.js";
import { type BackendConformanceOptions, backendConformance } from "../../src/testing/backend.js";
import type { ConformanceCase } from "../../src/testing/conformance-case.js";
import { type SerializerConformanceOptions, serializerConformance } from "../../src/testing/serializer.js";

function runCases(suite: string, cases: readonly ConformanceCase[]): void {
  describe(suite, () => {
    for (const { name, skip, run } of cases) it(name, skip === undefined ? {} : { skip }, run);
  });
}

/** The backend suite for one backend, as a `describe` block. */
export function runBackendConformance(
  name: string,
  makeBackend: () => AsyncBackend | Promise<AsyncBackend>,
  options?: BackendConformanceOptions,
): void {
  runCases(`backend conformance: ${name}`, backendConformance(makeBackend, options));
}

/** The serializer suite for one serializer, as a `describe` block. */
export function runSerializerConformance(
  name: string,
  makeSerializer: () => Serializer,
  options?: SerializerConformanceOptions,
): void {
  runCases(`serializer conformance: ${name}`, serializerConformance(makeSerializer, options));
}
