import { ConfigurationError } from "../errors.js";

/** A function or method as the memoizers see it: any `this`, any arguments. */
export type AnyFunction<This = unknown, Result = unknown> = (this: This, ...args: never[]) => Result;

/**
 * Gives a memoized function its identity, the first part of its keys: the `name` option, else the
 * wrapped function's own name.
 *
 * @throws ConfigurationError for an anonymous function without a `name` option.
 */
export function nameWrapper(memoized: AnyFunction, wrapped: AnyFunction, name: string | undefined): void {
  const identity = name ?? wrapped.name;
  if (identity === "") {
    throw new ConfigurationError(
      'cannot memoize an anonymous function without a name: pass { name: "…" }, which becomes the first part of its cache keys',
    );
  }
  Object.defineProperty(memoized, "name", { value: identity });
}

/**
 * Names a decorated method `Class.method`. The class is not known while the method is decorated, so
 * the name is set when the first instance is built (at class definition for a static method): the
 * class is the one whose prototype (or which itself, when static) holds the method, so instances of a
 * subclass still use the declaring class.
 */
export function nameMethod(
  memoized: AnyFunction,
  context: ClassMethodDecoratorContext,
  name: string | undefined,
): void {
  if (name !== undefined) {
    Object.defineProperty(memoized, "name", { value: name });
    return;
  }
  const method = String(context.name);
  let named = false;
  context.addInitializer(function (this: unknown) {
    if (named) return;
    named = true;
    Object.defineProperty(memoized, "name", { value: `${declaringClassName(this, context)}.${method}` });
  });
}

/** The name of the class that declares the decorated method, seen from an instance (or the class). */
function declaringClassName(self: unknown, context: ClassMethodDecoratorContext): string {
  if (context.static) return (self as { name?: string }).name ?? "anonymous";
  let holder: unknown = self;
  while (holder !== null && typeof holder === "object" && !Object.hasOwn(holder, context.name)) {
    holder = Object.getPrototypeOf(holder);
  }
  // Private methods live on no prototype: the instance's own class is the best name there is.
  return ((holder ?? self) as { constructor?: { name?: string } }).constructor?.name ?? "anonymous";
}

/**
 * Lets a memoizer's wrapper also decorate methods under TypeScript's `experimentalDecorators` (NestJS,
 * Angular, TypeORM projects), where a decorator is called with the prototype (or the class, when static),
 * the method's name and its descriptor instead of TC39's `(method, context)`. The method is memoized under
 * the same name, `Class.method` of the declaring class, so that both modes share cache keys.
 */
export function acceptingLegacyDecorators(
  wrap: (target: AnyFunction, context: DecoratorContext | undefined, legacyName?: string) => AnyFunction,
  what: string,
): (...args: unknown[]) => unknown {
  return function (...args: unknown[]): unknown {
    const [target, key, descriptor] = args;
    const legacy =
      args.length === 3 &&
      (typeof key === "string" || typeof key === "symbol") &&
      typeof descriptor === "object" &&
      descriptor !== null;
    if (!legacy) return wrap(target as AnyFunction, key as DecoratorContext | undefined);
    const owner = typeof target === "function" ? target : (target as { constructor?: { name?: string } }).constructor;
    const name = `${owner?.name ?? "anonymous"}.${String(key)}`;
    const property = descriptor as PropertyDescriptor;
    if (typeof property.value !== "function") {
      throw new ConfigurationError(`@${what} decorates methods, not accessors or fields ("${name}")`);
    }
    property.value = wrap(property.value as AnyFunction, undefined, name);
    return property;
  };
}
