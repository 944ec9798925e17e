// A minimal NestJS application, compiled by nest-and-cache-manager.test.ts with tsc under
// experimentalDecorators and emitDecoratorMetadata, as Nest projects are, then run against a real Redis:
// CacheModule over Keyv over KeyvCachetory, the CacheInterceptor on a controller, a provider method
// memoized by @cached, and cache-manager's own API on the same store. It prints what it saw as JSON.
import "reflect-metadata";
import { CACHE_MANAGER, CacheInterceptor, CacheModule } from "@nestjs/cache-manager";
import { Controller, Get, Inject, Injectable, Module, Param, UseInterceptors } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { type Cache as CacheManager, createCache } from "cache-manager";
import Keyv from "keyv";
import { Cache, cached } from "cachetory";
import { KeyvCachetory } from "cachetory/keyv";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";
const memo = new Cache<number>({ backend: url, serializer: "json://", prefix: "memo:" });
let computed = 0;
let served = 0;

@Injectable()
class PriceService {
  @cached(memo, { timeToLive: "1m" })
  async price(id: number): Promise<number> {
    computed++;
    return id * 10;
  }
}

@Controller("prices")
@UseInterceptors(CacheInterceptor)
class PriceController {
  constructor(
    private readonly prices: PriceService,
    @Inject(CACHE_MANAGER) private readonly cacheManager: CacheManager,
  ) {}

  @Get(":id")
  async get(@Param("id") id: string): Promise<{ id: string; price: number; served: number }> {
    served++;
    return { id, price: await this.prices.price(Number(id)), served };
  }

  @Get("manager/ttl/:id")
  async ttl(@Param("id") id: string): Promise<{ expires: number | undefined }> {
    return { expires: await this.cacheManager.ttl(`/prices/${id}`) };
  }
}

@Module({
  imports: [
    CacheModule.register({ stores: [new Keyv({ store: new KeyvCachetory(url, { prefix: "nest:" }) })], ttl: 60_000 }),
  ],
  controllers: [PriceController],
  providers: [PriceService],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, "127.0.0.1");
  const { port } = app.getHttpServer().address() as { port: number };
  const fetchJson = async (path: string): Promise<unknown> => (await fetch(`http://127.0.0.1:${port}${path}`)).json();
  const responses = [await fetchJson("/prices/7"), await fetchJson("/prices/7"), await fetchJson("/prices/8")];
  const interceptorTtl = await fetchJson("/prices/manager/ttl/7");
  await app.close();

  // cache-manager 7 directly, over the same kind of store.
  const manager = createCache({ stores: [new Keyv({ store: new KeyvCachetory(url, { prefix: "cm:" }) })] });
  await manager.set("user:1", { name: "Ada" }, 60_000);
  let wraps = 0;
  const wrapped = [
    await manager.wrap("slow", async () => ++wraps, 60_000),
    await manager.wrap("slow", async () => ++wraps, 60_000),
  ];
  await manager.set("short", "x", 50);
  await new Promise((resolve) => setTimeout(resolve, 120));
  const report = {
    responses,
    computed,
    interceptorTtl,
    get: await manager.get("user:1"),
    mget: await manager.mget(["user:1", "absent"]),
    ttl: await manager.ttl("user:1"),
    wrapped,
    wraps,
    expired: await manager.get("short"),
    del: await manager.del("user:1"),
    afterDel: await manager.get("user:1"),
    stored: {
      nest: await keysOf("nest:"),
      memo: await keysOf("memo:"),
      cm: await keysOf("cm:"),
    },
    now: Date.now(),
  };
  await manager.disconnect();
  await memo.close();
  console.log(JSON.stringify(report));
}

async function keysOf(prefix: string): Promise<string[]> {
  await using cache = new Cache({ backend: url, serializer: "json://", prefix });
  const keys: string[] = [];
  for await (const key of cache.keys()) keys.push(key);
  return keys.sort();
}

void main();
