/**
 * Installs the `LinearMixedModel` methods that need inference —
 * `m.coefTable({ df })`, `m.summary({ ddf })`, `m.confint()`,
 * `m.confintAsync()` — in the model's registry
 * (`lib/models/lmer/extensions.ts`), so that the model never imports this
 * floor. Importing this module is enough; `mod.ts` and `advanced.ts` do.
 *
 * @example
 * ```ts
 * import "./lmerMethods.ts";
 * import { lmerInferenceRegistered } from "../models/lmer/extensions.ts";
 * lmerInferenceRegistered(); // true
 * ```
 * @module
 */
import { registerLmerInference } from "../models/lmer/extensions.ts";
// the glmer model's m.confint() too, so one import installs both
import "./glmerMethods.ts";
import { coefTableDf, fixedEffectsText } from "./df.ts";
import { confint, confintAsync } from "./confint.ts";

registerLmerInference({ coefTableDf, fixedEffectsText, confint, confintAsync });
