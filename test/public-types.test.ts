/**
 * The published declarations (dist/esm/**.d.ts) only speak of types a user can name: every type that a
 * public signature mentions is exported by name from one of the entry points, and no exported class shows
 * `protected` state (internals a user could reach by subclassing, and that would then be frozen). Protected
 * methods are allowed: they are the extension points of the classes made to be extended (the compressors).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = new URL("..", import.meta.url).pathname;
const DIST = join(ROOT, "dist/esm");

/** The entry points of package.json's `exports`, as their built ESM declaration files. */
const ENTRY_POINTS = Object.values(
  (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, unknown> }).exports,
)
  .map((entry) => (entry as { import?: { types?: string } }).import?.types)
  .filter((types): types is string => types !== undefined)
  .map((types) => join(ROOT, types));

interface Findings {
  readonly unnamed: string[];
  readonly protectedMembers: string[];
}

/** Walks every public declaration reachable from `entryPoints`, reporting what a user could not name. */
export function inspectDeclarations(entryPoints: readonly string[], packageDirectory: string): Findings {
  const program = ts.createProgram({
    rootNames: [...entryPoints],
    options: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true },
  });
  const checker = program.getTypeChecker();
  const resolve = (symbol: ts.Symbol): ts.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const named = new Set<ts.Symbol>();
  const roots: ts.Symbol[] = [];
  for (const file of entryPoints) {
    const source = program.getSourceFile(file);
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    assert.ok(module !== undefined, `${relative(ROOT, file)} is not a module`);
    for (const exported of checker.getExportsOfModule(module)) {
      named.add(resolve(exported));
      roots.push(resolve(exported));
    }
  }
  const isOurs = (declaration: ts.Declaration): boolean =>
    declaration.getSourceFile().fileName.startsWith(packageDirectory);
  const unnamed = new Set<string>();
  const protectedMembers = new Set<string>();
  const seen = new Set<ts.Node>();
  const where = (node: ts.Node): string => {
    const file = node.getSourceFile();
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    return `${relative(packageDirectory, file.fileName)}:${String(line + 1)}`;
  };
  const visit = (node: ts.Node): void => {
    if (seen.has(node)) return;
    seen.add(node);
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol !== undefined) {
        const target = resolve(symbol);
        const declarations = (target.declarations ?? []).filter(isOurs);
        // Type parameters are named by their signature; everything else of ours must be exported by name.
        if (declarations.length > 0 && !(target.flags & ts.SymbolFlags.TypeParameter)) {
          if (!named.has(target)) unnamed.add(`${target.name} (used at ${where(node)})`);
          for (const declaration of declarations) visit(declaration);
        }
      }
    }
    if (ts.isPropertyDeclaration(node) && ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Protected) {
      const owner = ts.isClassDeclaration(node.parent) ? (node.parent.name?.text ?? "(class)") : "(class)";
      protectedMembers.add(`${owner}.${node.name.getText()} (${where(node)})`);
    }
    ts.forEachChild(node, visit);
  };
  for (const root of roots) for (const declaration of (root.declarations ?? []).filter(isOurs)) visit(declaration);
  return { unnamed: [...unnamed].sort(), protectedMembers: [...protectedMembers].sort() };
}

describe("the published declarations", () => {
  it("mention only types exported by name, and no protected state", () => {
    assert.ok(existsSync(ENTRY_POINTS[0] as string), "the package is not built: run `npm run build`");
    const { unnamed, protectedMembers } = inspectDeclarations(ENTRY_POINTS, DIST);
    assert.deepEqual(unnamed, [], "types used by public signatures but not exported by name");
    assert.deepEqual(protectedMembers, [], "protected state in published classes");
  });
});
