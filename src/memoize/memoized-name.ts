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
