import { RedisBackend } from "./src/backends/redis.ts";
import { RedisServer } from "./test/support/redis-server.ts";
const server = await RedisServer.start({ arguments: ["--requirepass", "another-password"] });
const b = new RedisBackend({ url: `redis://user:S3cr3t%40x@127.0.0.1:${server.port}/0?timeout=300` });
for (let i = 0; i < 3; i++) {
  try {
    await b.get("k");
  } catch (e) {
    console.log((e as Error).message.slice(0, 100));
  }
}
await b.close();
await server.stop();
console.log("closed; the process should exit now");
setTimeout(() => {
  console.log("STILL ALIVE after 3 s");
  process.exit(1);
}, 3000).unref();
