/**
 * The library's floors and entry points (DESIGN.md, "Layering"): nothing
 * under lib/models/ imports lib/inference/ (the model's inference methods
 * come through the registry in lib/models/lmer/extensions.ts); without that
 * registration the methods say what to import; mod.ts stays a user's API
 * of at most 50 names, with everything else in advanced.ts.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function* tsFiles(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* tsFiles(new URL(`${e.name}/`, dir));
    else if (e.name.endsWith(".ts")) yield new URL(e.name, dir);
  }
}

/** Relative specifiers of every static, type-only, re-export and dynamic import. */
function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const re of [/\bfrom\s*"([^"]+)"/g, /\bimport\s*"([^"]+)"/g, /\bimport\(\s*"([^"]+)"/g]) {
    for (const m of code.matchAll(re)) out.push(m[1]);
  }
  return out;
}

Deno.test("nothing under lib/models/ imports lib/inference/ (types included)", async () => {
  const inference = new URL("lib/inference/", ROOT).href;
  const offenders: string[] = [];
  for await (const file of tsFiles(new URL("lib/models/", ROOT))) {
    for (const s of specifiers(await Deno.readTextFile(file))) {
      if (s.startsWith(".") && new URL(s, file).href.startsWith(inference)) {
        offenders.push(`${file.pathname.slice(ROOT.pathname.length)} imports ${s}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("without lib/inference, the model's inference methods name what to import", async () => {
  const fit = new URL("lib/models/lmer/fit.ts", ROOT).href;
  const code = `
    import { lmer } from ${JSON.stringify(fit)};
    const m = lmer("y ~ 1 + (1 | g)", {
      y: [1, 2, 3, 4, 2, 3, 5, 6, 1, 3, 2, 4],
      g: ["a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"],
    });
    const out = {};
    for (const [name, f] of [
      ["coefTable", () => m.coefTable({ df: "satterthwaite" })],
      ["summary", () => String(m.summary({ ddf: "satterthwaite" }))],
      ["confint", () => m.confint({ method: "Wald" })],
      ["confintAsync", () => m.confintAsync({ method: "Wald" })],
    ]) {
      try { await f(); out[name] = "no error"; } catch (e) { out[name] = e.message; }
    }
    out.plain = m.coefTable().columns.join(",");
    console.log(JSON.stringify(out));
  `;
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(res.success, new TextDecoder().decode(res.stderr));
  const out = JSON.parse(new TextDecoder().decode(res.stdout).trim().split("\n").pop()!);
  assert.equal(out.plain, "term,estimate,stdError,statistic");
  for (
    const [name, call] of [
      ["coefTable", "m.coefTable({ df })"],
      ["summary", "m.summary({ ddf })"],
      ["confint", "m.confint()"],
      ["confintAsync", "m.confintAsync()"],
    ]
  ) {
    assert.match(out[name], new RegExp(`^${call.replace(/[(){}.]/g, "\\$&")} needs`));
    assert.match(out[name], /"mod\.ts"/);
    assert.match(out[name], /lib\/inference\/lmerMethods\.ts/);
  }
});

Deno.test("mod.ts exports at most 50 names, none of them also in advanced.ts", async () => {
  const mod = await import("../mod.ts");
  const advanced = await import("../advanced.ts");
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(res.success, new TextDecoder().decode(res.stderr));
  const doc = JSON.parse(new TextDecoder().decode(res.stdout));
  const documented: string[] = Object.values(
    doc.nodes as Record<string, { symbols: { name: string }[] }>,
  ).flatMap((n) => n.symbols.map((s) => s.name));
  // values and types: the documented symbols, plus values hidden from the docs (Plot)
  const names = new Set([...documented, ...Object.keys(mod)]);
  assert.ok(names.size <= 50, `mod.ts exports ${names.size} names: ${[...names].sort()}`);
  for (const n of ["lmer", "lm", "emmeans", "anova", "lmList", "rng", "createData", "Plot"]) {
    assert.ok(n in mod, n);
  }
  const both = Object.keys(mod).filter((k) => k in advanced);
  assert.deepEqual(both, []);
});
