/**
 * Checks of user-supplied options and arguments with messages that name the
 * problem: unknown (misspelled) option names, wrong types ("got a string"),
 * non-finite numbers. Long names are abbreviated so a message stays one line.
 * @module
 */

/**
 * A name or value for an error message: at most `max` characters, longer ones
 * cut with "…" and their length.
 *
 * @example
 * ```ts
 * import { abbreviateName } from "./options.ts";
 * abbreviateName("x".repeat(100)); // "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters)"
 * ```
 */
export function abbreviateName(name: string, max = 40): string {
  return name.length <= max ? name : `${name.slice(0, max)}… (${name.length} characters)`;
}

/** What a value is, for messages: "a string (\"10\")", "null", "an array", "a number (NaN)". */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "string") return `a string (${JSON.stringify(abbreviateName(v))})`;
  if (typeof v === "number") return `a number (${v})`;
  if (typeof v === "boolean") return `a boolean (${v})`;
  if (Array.isArray(v)) return "an array";
  if (typeof v === "function") return "a function";
  if (typeof v === "object") {
    const name = (v as object).constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return typeof v;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

/**
 * Check that `options` is a plain object (or undefined) whose keys are all
 * in `known`; an unknown key is an error naming it, the closest known one,
 * and every known option.
 *
 * @example
 * ```ts
 * import { checkOptions } from "./options.ts";
 * checkOptions("createData", { nCluster: 5 }, ["nCluster", "seed"]); // ok
 * // checkOptions("createData", { nClusters: 5 }, ["nCluster", "seed"]) throws
 * // "createData: unknown option 'nClusters' (did you mean 'nCluster'?); known options: nCluster, seed"
 * ```
 */
export function checkOptions(
  where: string,
  options: unknown,
  known: readonly string[],
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    let best = "", bestD = Infinity;
    for (const k of known) {
      const d = editDistance(key.toLowerCase(), k.toLowerCase());
      if (d < bestD) (best = k, bestD = d);
    }
    const hint = bestD <= Math.max(2, Math.floor(key.length / 3))
      ? ` (did you mean '${best}'?)`
      : "";
    throw new TypeError(
      `${where}: unknown option '${abbreviateName(key)}'${hint}; known options: ${
        known.join(", ")
      }`,
    );
  }
}

/**
 * Check that an option is a number (finite unless `allowInfinite`; an
 * integer if asked; at least `min`), naming the option and what it got.
 *
 * @example
 * ```ts
 * import { checkNumberOption } from "./options.ts";
 * checkNumberOption("createData", "nCluster", 10, { integer: true, min: 1 }); // 10
 * // checkNumberOption("createData", "nCluster", "10") throws "... got a string (\"10\")"
 * ```
 */
export function checkNumberOption(
  where: string,
  name: string,
  v: unknown,
  opts: { integer?: boolean; min?: number; allowInfinite?: boolean } = {},
): number {
  const what = opts.integer ? "an integer" : "a finite number";
  if (typeof v !== "number") {
    throw new TypeError(`${where}: '${name}' must be ${what}, got ${describeValue(v)}`);
  }
  if (Number.isNaN(v) || (!opts.allowInfinite && !Number.isFinite(v))) {
    throw new RangeError(`${where}: '${name}' must be ${what}, got ${v}`);
  }
  if (opts.integer && !Number.isInteger(v)) {
    throw new RangeError(`${where}: '${name}' must be an integer, got ${v}`);
  }
  if (opts.min !== undefined && v < opts.min) {
    throw new RangeError(`${where}: '${name}' must be >= ${opts.min}, got ${v}`);
  }
  return v;
}
