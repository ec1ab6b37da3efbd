/**
 * Observable Plot and linkedom, loaded when the figures are imported (a
 * top-level await), so that code importing only the models never loads them.
 * `Plot` is the same instance the figures use: pass its marks to
 * {@link Figure.with}.
 * @module
 */
import { loadLinkedom, loadPlot, type PlotModule } from "../deps.ts";

const [plotModule, linkedom] = await Promise.all([loadPlot(), loadLinkedom()]);

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
