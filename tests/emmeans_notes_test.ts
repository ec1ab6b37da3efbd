/**
 * emmeans' NOTE "Results may be misleading due to involvement in
 * interactions" appears exactly when R's emmeans prints it
 * (tests/fixtures/emmeans_notes.R: lm, lmer and glmer fits), as the first
 * line of the text display and above the HTML table.
 */
import assert from "node:assert/strict";
import { dataset, emmeans, glmer, JUPYTER_DISPLAY, lm, lmer } from "../mod.ts";
import type { DatasetName } from "../mod.ts";

interface Case {
  id: string;
  kind: "lm" | "lmer" | "glmer";
  formula: string;
  data: DatasetName;
  specs: string[];
  interaction_note: boolean;
}
const { cases } = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/emmeans_notes.json", import.meta.url)),
) as { cases: Case[] };

const NOTE = "NOTE: Results may be misleading due to involvement in interactions";

for (const c of cases) {
  Deno.test(`emmeans interaction note as R: ${c.id} (${c.formula}; ${c.specs.join(", ")})`, () => {
    const d = dataset(c.data);
    const m = c.kind === "lm"
      ? lm(c.formula, d)
      : c.kind === "lmer"
      ? lmer(c.formula, d)
      : glmer(c.formula, d, { family: "binomial" });
    const t = emmeans(m, c.specs) as unknown as Record<
      symbol,
      () => Record<string, string>
    >;
    const bundle = t[JUPYTER_DISPLAY]();
    assert.equal(bundle["text/plain"].split("\n")[0] === NOTE, c.interaction_note);
    assert.equal(bundle["text/html"].includes(NOTE), c.interaction_note);
    // the table itself follows (its header line starts with the first spec)
    const header = bundle["text/plain"].split("\n")[c.interaction_note ? 1 : 0];
    assert.match(header, new RegExp(`^ ${c.specs[0]}`));
  });
}
