/**
 * Observable Plot and linkedom, loaded when the figures are imported (a
 * top-level await), so that code importing only the models never loads them.
 * `Plot` is the same instance the figures use: pass its marks to
 * {@link Figure.with}.
 * @module
 */
import { loadLinkedom, loadPlot, loadResvg, type PlotModule } from "../deps.ts";

// resvg too: a figure's notebook display carries a PNG, and Jupyter's display
// hook is synchronous. Where resvg's native binary cannot load, figures still
// display (without the PNG).
const [plotModule, linkedom, resvgModule] = await Promise.all([
  loadPlot(),
  loadLinkedom(),
  loadResvg().catch(() => undefined),
]);

/**
 * Observable Plot (`npm:@observablehq/plot@0.6.17`), for marks to add to a
 * figure with {@link Figure.with}.
 *
 * @example
 * ```ts
 * import { Plot } from "./plot.ts";
 * const rule = Plot.ruleY([0]);
 * console.log(typeof rule.plot); // "function"
 * ```
 * (Plot's own namespace, hidden from deno doc, whose lint would walk Plot's declarations.)
 * @ignore
 */
export const Plot: PlotModule = plotModule;

/**
 * linkedom's `parseHTML`: a DOM document for Plot to render on.
 * (linkedom's own function.)
 * @ignore
 */
export const parseHTML: typeof linkedom.parseHTML = linkedom.parseHTML;

/**
 * The part of resvg's `Resvg` class the figures use (declared here so that
 * deno doc does not walk resvg's declarations).
 * @ignore
 */
export interface ResvgClass {
  /** Parse an SVG with resvg's options. */
  new (svg: string, options: Record<string, unknown>): {
    render(): { pixels: Uint8Array; width: number; height: number; asPng(): Uint8Array };
  };
}

/**
 * resvg's `Resvg` class, loaded with the figures; undefined where its native
 * binary is unavailable.
 * @ignore
 */
export const Resvg: ResvgClass | undefined = resvgModule?.Resvg as unknown as
  | ResvgClass
  | undefined;
