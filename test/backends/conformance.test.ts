import { DummyBackend } from "../../src/backends/dummy.js";
import { MemoryBackend } from "../../src/backends/memory.js";
import { DummyBackend as SyncDummyBackend } from "../../src/backends/sync/dummy.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/sync/memory.js";
import { SyncBackendAdapter } from "../../src/internal/sync-backend-adapter.js";
import { backendConformance } from "../conformance/backend.js";
import { ManualClock } from "../support/clock.js";

function withManualClock(
  build: (clock: ManualClock) => ConstructorParameters<typeof SyncBackendAdapter>[0] | MemoryBackend,
) {
  return () => {
    const clock = new ManualClock();
    const built = build(clock);
    const backend = built instanceof MemoryBackend ? built : new SyncBackendAdapter(built);
    return {
      backend,
      advance: async (milliseconds: number) => {
        clock.advance(milliseconds);
      },
    };
  };
}

backendConformance(
  "memory:// (async)",
  { stores: true },
  withManualClock((clock) => new MemoryBackend({ clock })),
);
backendConformance(
  "memory:// (sync)",
  { stores: true },
  withManualClock((clock) => new SyncMemoryBackend({ clock })),
);
backendConformance("dummy:// (async)", { stores: false }, () => ({
  backend: new DummyBackend(),
  advance: async () => {},
}));
backendConformance("dummy:// (sync)", { stores: false }, () => ({
  backend: new SyncBackendAdapter(new SyncDummyBackend()),
  advance: async () => {},
}));
