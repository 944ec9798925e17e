/**
 * Every `ts` block of the README and of docs/ compiles against the built package, as a reader's own module would:
 * strict, NodeNext resolution, importing `cachetory` by its name. Each block stands alone (a reader copies one block,
 * not a page), so every name it takes from cachetory must be imported in the block itself. The only names a block
 * may use without declaring them are the reader's own domain ones, declared in READER_NAMES below.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = new URL("..", import.meta.url).pathname;

/** The reader's application: what the snippets talk about, which no snippet should have to define. */
const READER_NAMES = `
interface User { id: number; name: string }
interface Order { id: string; total: number }
interface Report { rows: string[] }
declare const user: User;
interface Profile { displayName: string }
interface Settings { theme: string }
declare const profile: Profile;
declare const settings: Settings;
declare const db: { users: { find(id: number): Promise<User | null> } };
declare const logger: { warn(fields: object, message: string): void };
declare function runSearch(query: string): Promise<string[]>;
`;

interface CodeBlock {
  /** Where the block is, as `docs/file.md:LINE` (the line of its first code line). */
  readonly where: string;
  readonly code: string;
  /** Tagged `ts experimentalDecorators` (a NestJS example): compiled with that setting, as such projects are. */
  readonly experimentalDecorators?: boolean;
}

function markdownFiles(): string[] {
  const files = [join(ROOT, "README.md")];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  walk(join(ROOT, "docs"));
  return files.sort();
}

/** The fenced blocks tagged `ts` or `typescript` of one Markdown file. */
export function typeScriptBlocks(path: string): CodeBlock[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  let fence: { start: number; marker: string; lines: string[]; experimental: boolean } | undefined;
  for (const [index, line] of lines.entries()) {
    if (fence === undefined) {
      const opening = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)(\s+experimentalDecorators)?\s*$/.exec(line);
      if (opening !== null) {
        fence = { start: index + 2, marker: opening[2] ?? "```", lines: [], experimental: opening[4] !== undefined };
      }
    } else if (line.trim().startsWith(fence.marker) && line.trim().replace(/[`~]/g, "") === "") {
      blocks.push({
        where: `${relative(ROOT, path)}:${String(fence.start)}`,
        code: fence.lines.join("\n"),
        experimentalDecorators: fence.experimental,
      });
      fence = undefined;
    } else {
      fence.lines.push(line);
    }
  }
  assert.equal(
    fence,
    undefined,
    `${relative(ROOT, path)}: a code block opened at line ${String(fence?.start)} never closes`,
  );
  return blocks;
}

/** Type-checks `blocks` as separate modules of the reader; returns each problem as `file.md:LINE: message`. */
function compileBlocks(blocks: readonly CodeBlock[]): string[] {
  const legacy = blocks.filter((block) => block.experimentalDecorators === true);
  const standard = blocks.filter((block) => block.experimentalDecorators !== true);
  return [...compileWith(standard, false), ...(legacy.length === 0 ? [] : compileWith(legacy, true))];
}

function compileWith(blocks: readonly CodeBlock[], experimentalDecorators: boolean): string[] {
  // Inside the package's folder, so that `import … from "cachetory"` resolves by the package's own name and exports.
  const directory = mkdtempSync(join(ROOT, "test/.docs-code-"));
  try {
    const files = blocks.map((block, index) => {
      const file = join(directory, `block-${String(index)}.ts`);
      // `export {}` makes a block without imports a module too, so blocks cannot see each other's names.
      writeFileSync(file, `${block.code}\nexport {};\n`);
      return { file, block };
    });
    const readerNames = join(directory, "reader-names.d.ts");
    writeFileSync(readerNames, READER_NAMES);
    const program = ts.createProgram({
      rootNames: [readerNames, ...files.map(({ file }) => file)],
      options: {
        target: ts.ScriptTarget.ES2022,
        lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules/@types")],
        experimentalDecorators,
        emitDecoratorMetadata: experimentalDecorators,
      },
    });
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
      const source = files.find(({ file }) => file === diagnostic.file?.fileName);
      if (source === undefined || diagnostic.file === undefined || diagnostic.start === undefined) return message;
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const [path, first] = source.block.where.split(":");
      return `${String(path)}:${String(Number(first) + line)}: ${message}`;
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

describe("the docs' TypeScript blocks", () => {
  const blocks = markdownFiles().flatMap(typeScriptBlocks);

  it("are found (the extraction itself works)", () => {
    assert.ok(blocks.length >= 15, `only ${String(blocks.length)} blocks found`);
    assert.ok(blocks.some((block) => block.where.startsWith("README.md:")));
  });

  it("each compile on their own against the built package", () => {
    assert.ok(
      existsSync(join(ROOT, "dist/esm/index.d.ts")),
      "the package is not built: run `npm run build` (npm test does it first)",
    );
    const problems = compileBlocks(blocks);
    assert.equal(problems.join("\n"), "", "every block compiles");
  });

  it("a block that does not compile is reported at its line in the docs", () => {
    // The check above must be able to fail: a name used without its import, and blocks that lean on each other.
    const problems = compileBlocks([
      {
        where: "docs/a.md:10",
        code: 'import { Cache } from "cachetory";\nconst cache = new Cache({ backend: "memory://", serializer: "noop://" });',
      },
      {
        where: "docs/b.md:20",
        code: '\nawait cache.get("k");\nnew Cache({ backend: "memory://", serializer: "noop://" });',
      },
    ]);
    assert.deepEqual(problems, ["docs/b.md:21: Cannot find name 'cache'.", "docs/b.md:22: Cannot find name 'Cache'."]);
  });
});
