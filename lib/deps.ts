/**
 * Every npm dependency of the library, with full pinned `npm:` specifiers, so
 * that `mod.ts` can be imported from a URL (an importer ignores our deno.json).
 * @module
 */
export { default as pl } from "npm:nodejs-polars@0.25.2";
export type { DataFrame, Series } from "npm:nodejs-polars@0.25.2";
