/**
 * Every npm dependency of the library, with full pinned `npm:` specifiers, so
 * that `mod.ts` can be imported from a URL (an importer ignores our deno.json).
 * @module
 */
export { default as pl } from "npm:nodejs-polars@0.25.2";
export type { DataFrame, LazyDataFrame, Series } from "npm:nodejs-polars@0.25.2";
// Figures (lib/plots): Observable Plot rendering on linkedom's DOM, and resvg
// for PNG. They are loaded by functions, not re-exported, so that importing
// this file for polars does not also load them (~90 ms): lib/plots/plot.ts
// loads Plot, linkedom and resvg when the figures are imported (a figure's
// notebook display carries a PNG). linkedom's single-file "worker" build loads in ~25 ms instead of ~65 ms.
export type { Markish, PlotOptions } from "npm:@observablehq/plot@0.6.17";
/**
 * The Observable Plot module's type.
 * (Hidden from deno doc, whose lint would walk Plot's declarations.)
 * @ignore
 */
export type PlotModule = typeof import("npm:@observablehq/plot@0.6.17");
/** Observable Plot (loads d3). */
export const loadPlot = (): Promise<PlotModule> => import("npm:@observablehq/plot@0.6.17");
/** linkedom, the DOM that Plot renders on outside a browser. */
export const loadLinkedom = (): Promise<typeof import("npm:linkedom@0.18.12/worker")> =>
  import("npm:linkedom@0.18.12/worker");
/** resvg (native) for PNG. */
export const loadResvg = (): Promise<typeof import("npm:@resvg/resvg-js@2.6.2")> =>
  import("npm:@resvg/resvg-js@2.6.2");
