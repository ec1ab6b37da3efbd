/**
 * Installs the `GeneralizedLinearMixedModel` methods that need inference —
 * `m.confint()` — in the model's registry (`registerGlmerInference` in
 * `lib/models/glmer/model.ts`), so that the model never imports this floor.
 * `lmerMethods.ts` imports this module, so `mod.ts` and `advanced.ts` install
 * it too.
 *
 * @example
 * ```ts
 * import "./glmerMethods.ts";
 * ```
 * @module
 */
import { registerGlmerInference } from "../models/glmer/model.ts";
import { confint } from "./confint.ts";

registerGlmerInference({ confint: (model, options) => confint(model, options) });
