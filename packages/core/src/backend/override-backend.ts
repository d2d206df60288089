/**
 * A view of a backend with some of its methods replaced: the one way to wrap a
 * {@link SpoolBackend} (a `close()` that does nothing, a test's failing or
 * slow copy, a crash checker's dropped sync) without writing a `Proxy` by hand.
 */
import type { SpoolBackend } from './spool-backend.js';

/**
 * A view of `backend` in which the members given in `overrides` replace the
 * backend's own, and everything else is the real backend's.
 *
 * - Every member not overridden (methods, `location`, and
 *   anything a class adds) is read from the real `backend`; methods come back
 *   bound to it, so classes with private fields (`#x`) keep working.
 * - An overridden method is called with `this` bound to the wrapper (so
 *   `this.syncDir()` reaches the wrapper's own, possibly overridden, method).
 *   To call the real backend, close over the `backend` you passed in.
 * - An override whose value is `undefined` is ignored. An optional method the
 *   real backend lacks (`link`) stays absent unless it is
 *   overridden: `'link' in wrapper` and `wrapper.link` match the backend.
 * - The wrapper is a `Proxy` of `backend`: `instanceof` still sees the
 *   backend's class, and (a `Proxy` rule) an own property the backend froze
 *   cannot be overridden. Neither `backend` nor `overrides` is modified.
 *
 * @example
 * ```ts
 * import { FanoutError, overrideBackend } from '@fanout/core';
 *
 * // A destination whose disk is full, for a test.
 * const full = overrideBackend(archive, {
 *   createExclusive: async () => {
 *     throw new FanoutError('ENOSPC', 'no space left on device', { spool: archive.location });
 *   },
 * });
 * ```
 */
export function overrideBackend(
  backend: SpoolBackend,
  overrides: Partial<SpoolBackend> & ThisType<SpoolBackend>,
): SpoolBackend {
  const overridden = (prop: PropertyKey): unknown =>
    Object.prototype.hasOwnProperty.call(overrides, prop)
      ? (overrides as Record<PropertyKey, unknown>)[prop]
      : undefined;
  const wrapper: SpoolBackend = new Proxy(backend, {
    get(target, prop) {
      const own = overridden(prop);
      if (own !== undefined)
        return typeof own === 'function' ? (own as (...a: unknown[]) => unknown).bind(wrapper) : own;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
    has(target, prop) {
      return overridden(prop) !== undefined || Reflect.has(target, prop);
    },
  });
  return wrapper;
}
