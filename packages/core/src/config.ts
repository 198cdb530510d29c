/**
 * Configuration is plain data in the JSON that real model repositories ship: snake_case on disk,
 * camelCase in code. These helpers convert between the two and resolve configs against defaults.
 */

/** `beta_start` → `betaStart`. */
export function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `betaStart` → `beta_start`. */
export function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Merges a diffusers config over class defaults. Keys starting with `_` (`_class_name`,
 * `_diffusers_version`) are metadata and kept aside; keys the class does not know are reported
 * to `onUnknown` (a warning by default), as diffusers does.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ beta_start: 0.0001 }, { beta_start: 0.00085, beta_end: 0.012 });
 * ```
 */
export function resolveConfig<T extends Record<string, unknown>>(
  given: Readonly<Record<string, unknown>> | undefined,
  defaults: T,
  options: { className?: string; onUnknown?: (key: string) => void } = {},
): T {
  const out: Record<string, unknown> = { ...defaults };
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(given ?? {})) {
    if (key.startsWith('_')) continue;
    const snake = key in defaults ? key : camelToSnake(key);
    if (!(snake in defaults)) {
      unknown.push(key);
      continue;
    }
    if (value !== undefined) out[snake] = value;
  }
  if (unknown.length) {
    const report =
      options.onUnknown ??
      ((key: string) => {
        if (!warned.has(`${options.className}:${key}`)) {
          warned.add(`${options.className}:${key}`);
          process.emitWarning(`${options.className ?? 'config'}: ignoring unknown config key '${key}'`, 'LatentkitConfigWarning');
        }
      });
    unknown.forEach(report);
  }
  return out as T;
}

const warned = new Set<string>();
