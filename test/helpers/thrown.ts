/**
 * The error a call throws, for tests that look at more than its message: fails the test
 * when the call returns or throws something other than a `type`.
 */
export function thrown<E extends Error>(type: abstract new (...args: never[]) => E, f: () => unknown): E {
  let result: unknown;
  try {
    result = f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`expected a ${type.name}, got a result: ${JSON.stringify(result)}`);
}
