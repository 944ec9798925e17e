/**
 * The scenarios of one benchmark file and their report: each scenario's contestants measured in
 * interleaved rounds, each ratio over the first contestant's ops/s (cachetory's), written as
 * bench/results/NAME.md and NAME.json.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { compareInRounds, type Measurement, type Result } from "./measure.js";

/** The results of one benchmark file, scenario by scenario. */
export class RatioTable {
  readonly #results: Result[] = [];

  /** Measures the contestants of one scenario (cachetory first) and prints their rows. */
  async scenario(measurements: Measurement[]): Promise<void> {
    const measured = await compareInRounds(measurements);
    const ours = measured[0]?.opsPerSecond ?? Number.NaN;
    for (const result of measured) result.ratio = result.opsPerSecond / ours;
    this.#results.push(...measured);
    for (const result of measured) {
      console.log(
        `${result.scenario.padEnd(34)} ${result.contestant.padEnd(30)} ${Math.round(result.opsPerSecond).toString().padStart(9)} ops/s  ratio ${(result.ratio ?? 0).toFixed(2)}`,
      );
    }
  }

  /** Writes bench/results/`name`.md (under `title`) and `name`.json, and prints the table. */
  write(name: string, title: string): void {
    const lines = [
      `# ${title}, ${new Date().toISOString().slice(0, 10)}`,
      "",
      `Node ${process.version}, ${String(cpus().length)} × ${cpus()[0]?.model ?? "unknown CPU"}. Ratio: the contestant's ops/s over cachetory's (the first row of each scenario); above 1 is faster than cachetory.`,
      "",
      "| scenario | contestant | ops/s | p50 µs | p99 µs | ratio |",
      "| --- | --- | ---: | ---: | ---: | ---: |",
      ...this.#results.map(
        (result) =>
          `| ${result.scenario} | ${result.contestant} | ${Math.round(result.opsPerSecond).toLocaleString("en")} | ${result.p50Microseconds.toFixed(0)} | ${result.p99Microseconds.toFixed(0)} | ${(result.ratio ?? 0).toFixed(2)} |`,
      ),
      "",
    ];
    writeFileSync(new URL(`../results/${name}.md`, import.meta.url), lines.join("\n"));
    writeFileSync(new URL(`../results/${name}.json`, import.meta.url), `${JSON.stringify(this.#results, null, 2)}\n`);
    console.log(lines.join("\n"));
  }
}
