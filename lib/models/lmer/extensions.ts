/**
 * What `lib/inference/` adds to a {@link LinearMixedModel}: the methods
 * `m.coefTable({ df })`, `m.summary({ ddf })`, `m.confint()` and
 * `m.confintAsync()` need degrees of freedom, profiles and the bootstrap,
 * which live a floor above the model (DESIGN.md, "Layering": `models/`
 * never imports `inference/`). The model calls them through the registry
 * below; `lib/inference/lmerMethods.ts` fills it when it is imported, which
 * `mod.ts` and `advanced.ts` do.
 *
 * The option types of those methods are declared here, at the model's
 * floor, so that the model's signatures need nothing from above;
 * `lib/inference/` re-exports them where they have always been.
 *
 * @example
 * ```ts ignore
 * import { lmer } from "../../../mod.ts"; // mod.ts installs the inference methods
 * const m = lmer("Reaction ~ Days + (Days | Subject)", sleepstudy);
 * m.coefTable({ df: "satterthwaite" }); // calls lmerInference(…).coefTableDf(m, …)
 * ```
 * @module
 */
import type { DataFrame } from "../../data/table.ts";
import type { Rng } from "../../rng/mod.ts";
import type { LinearMixedModel } from "./model.ts";

/** Methods for the t-tests of fixed effects (lmerTest's `ddf`). */
export type DdfMethod = "satterthwaite" | "kenward-roger";

/** Interval methods, lme4's names. */
export type ConfintMethod = "Wald" | "profile" | "boot";

/** Options of `profile(m)`, with lme4's `profile.merMod` defaults. */
export interface ProfileOptions {
  /** Parameters to profile, by lme4's names (default all); "theta_" / "beta_" select groups; one name may be given as a string, as in R. */
  readonly parm?: string | readonly string[];
  /** Profile out to ζ = √χ²_{1−alphamax}(#parameters) (lme4: 0.01). */
  readonly alphamax?: number;
  /** Maximal number of points per direction (lme4: 100). */
  readonly maxpts?: number;
  /** Step in ζ (lme4: cutoff / 8). */
  readonly delta?: number;
  /** Largest step as a multiple of the previous one (lme4: 10). */
  readonly maxmult?: number;
}

/** Options of `bootMer(m)`. */
export interface BootOptions {
  /** Number of bootstrap replicates (default 500, as lme4's confint). */
  readonly nsim?: number;
  /** `set.seed(seed)` before simulating (lme4's `seed`). */
  readonly seed?: number;
  /** Or a stream to continue. Neither: a random seed. */
  readonly rng?: Rng;
  /** Called after each replicate with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Refit REML models exactly as lme4 1.1-31's `refit` does, with the REML
   * criterion's degrees of freedom n − 1 instead of n − p (an lme4 quirk:
   * `mkRespMod(REML = TRUE)` stores REML = 1). Default false: the proper
   * REML criterion. Only matters for REML fits with more than one fixed
   * effect; set it to reproduce lme4's bootstrap numbers.
   */
  readonly lme4Refit?: boolean;
}

/** The part of `Deno.jupyter` used to show progress. */
export interface JupyterDisplay {
  /** Show a MIME bundle; with `update` and the same `display_id`, replace it in place. */
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<void>;
}

/** Options of `bootMerAsync(m)`. */
export interface BootAsyncOptions extends BootOptions {
  /**
   * Show a progress display in a Jupyter notebook, updated in place
   * (default true; ignored outside a Deno Jupyter kernel).
   */
  readonly progress?: boolean;
  /**
   * Where to show the progress (default: `Deno.jupyter` when running in a
   * Deno Jupyter kernel). Anything with Deno.jupyter's `display(bundle,
   * { raw, update, display_id })` works.
   */
  readonly display?: JupyterDisplay;
}

/** Options of `m.confint()` and `confint(m)`. */
export interface ConfintOptions extends Omit<ProfileOptions, "parm">, BootAsyncOptions {
  /** "profile" (default, as lme4), "Wald" or "boot". */
  readonly method?: ConfintMethod;
  /** Confidence level (default 0.95). */
  readonly level?: number;
  /** Parameters to report, by lme4's names (default all); "theta_" / "beta_" select groups; one name may be given as a string, as in R. */
  readonly parm?: string | readonly string[];
  /** Do not print the messages with console.warn (confint only). */
  readonly quiet?: boolean;
}

/** The model's methods that `lib/inference/` implements. */
export interface LmerInferenceMethods {
  /** `m.coefTable({ df })`: the fixed-effects table with df and p-values. */
  coefTableDf(model: LinearMixedModel, options: { df: DdfMethod }): DataFrame;
  /** The "Fixed effects:" block of `m.summary({ ddf })`, as lmerTest prints it. */
  fixedEffectsText(model: LinearMixedModel, method: DdfMethod): string;
  /** `m.confint(options)`. */
  confint(model: LinearMixedModel, options: ConfintOptions): DataFrame;
  /** `m.confintAsync(options)`. */
  confintAsync(model: LinearMixedModel, options: ConfintOptions): Promise<DataFrame>;
}

let registered: LmerInferenceMethods | undefined;

/**
 * Install the inference methods (called once by `lib/inference/lmerMethods.ts`).
 *
 * @example
 * ```ts ignore
 * registerLmerInference({ coefTableDf, fixedEffectsText, confint, confintAsync });
 * ```
 */
export function registerLmerInference(methods: LmerInferenceMethods): void {
  registered = methods;
}

/**
 * Whether the inference methods are installed.
 *
 * @example
 * ```ts ignore
 * lmerInferenceRegistered(); // true after importing mod.ts
 * ```
 */
export function lmerInferenceRegistered(): boolean {
  return registered !== undefined;
}

/**
 * The installed inference methods, or an Error naming what to import.
 *
 * @example
 * ```ts ignore
 * lmerInference("m.confint()").confint(m, {}); // throws unless mod.ts (or advanced.ts) was imported
 * ```
 */
export function lmerInference(method: string): LmerInferenceMethods {
  if (registered) return registered;
  throw new Error(
    `${method} needs the inference methods, which this program did not import: ` +
      `import the library from its "mod.ts" (or "advanced.ts"), ` +
      `or import "lib/inference/lmerMethods.ts" when using lib/ files directly`,
  );
}
