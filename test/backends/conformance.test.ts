import { DummyBackend } from "../../src/backends/dummy/backend.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { DummyBackend as SyncDummyBackend } from "../../src/backends/dummy/sync-backend.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { runBackendConformance } from "../support/conformance.js";

// Real time, as a third party runs it; scaled up so that a busy machine's scheduler cannot fail a margin.
const onBusyMachine = { timeScale: 2 } as const;
runBackendConformance("memory:// (async)", () => new MemoryBackend(), onBusyMachine);
runBackendConformance("memory:// (sync)", () => new SyncBackendAdapter(new SyncMemoryBackend()), onBusyMachine);
runBackendConformance("dummy:// (async)", () => new DummyBackend(), { capabilities: { stores: false } });
runBackendConformance("dummy:// (sync)", () => new SyncBackendAdapter(new SyncDummyBackend()), {
  capabilities: { stores: false },
});
