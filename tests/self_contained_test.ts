/**
 * The repository stands on its own: no tracked file reaches outside it for
 * data, texts or tools (a clone from a forge has nothing beside it), and
 * every `new URL("…", import.meta.url)` in code resolves inside it.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter((f) => f.length > 0);
}

const TEXT = /\.(ts|js|py|R|json|md|ipynb|sh|txt|html)$|^\.ci\/run$|^deno\.json$/;

Deno.test("no file mentions the development folders beside the repository", async () => {
  // built from parts so that this file does not match itself
  const outside = new RegExp(["\\.\\./", "shared", "|", "shared/", "(data|seeds|docs)"].join(""));
  const hits: string[] = [];
  for (const f of await trackedFiles()) {
    if (!TEXT.test(f)) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(new URL(f, ROOT));
    } catch {
      continue; // deleted in the working tree
    }
    text.split("\n").forEach((line, i) => {
      if (outside.test(line)) hits.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  assert.deepEqual(hits, []);
});

Deno.test("every URL relative to a module stays inside the repository", async () => {
  const root = new URL(".", ROOT).href;
  const bad: string[] = [];
  for (const f of await trackedFiles()) {
    if (!/\.ts$/.test(f)) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(new URL(f, ROOT));
    } catch {
      continue;
    }
    const base = new URL(f, ROOT);
    for (const m of text.matchAll(/new URL\(\s*"([^"]+)",\s*import\.meta\.url\s*\)/g)) {
      const target = new URL(m[1], base).href;
      if (!target.startsWith(root)) bad.push(`${f}: ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});
