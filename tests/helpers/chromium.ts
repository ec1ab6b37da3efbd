/**
 * Test helper: headless Chromium screenshots (Debian's `chromium`, with the
 * flags this machine kind needs: no sandbox as root, no background
 * networking on a closed network, a fresh profile).
 */

/** The Chromium binary: $CHROMIUM, or Debian's; undefined when absent. */
export function findChromium(): string | undefined {
  for (const c of [Deno.env.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch {
      // not installed there
    }
  }
  return undefined;
}

/** The flags this machine kind needs, and a fresh profile in `profileDir`. */
function baseArgs(profileDir: string, budgetMs: number): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    `--user-data-dir=${profileDir}`,
    `--virtual-time-budget=${budgetMs}`,
  ];
}

/** Screenshot `url` into `png` (a window of width × height, after `budgetMs` of virtual time). */
export async function screenshot(
  chromium: string,
  url: string,
  png: string,
  opts: { width: number; height: number; budgetMs?: number; profileDir: string },
): Promise<void> {
  const out = await new Deno.Command(chromium, {
    args: [
      ...baseArgs(opts.profileDir, opts.budgetMs ?? 2000),
      `--screenshot=${png}`,
      `--window-size=${opts.width},${opts.height}`,
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`chromium failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
}

/** The DOM of `url` after its scripts ran (`budgetMs` of virtual time), as HTML text. */
export async function dumpDom(
  chromium: string,
  url: string,
  opts: { budgetMs?: number; profileDir: string },
): Promise<string> {
  const out = await new Deno.Command(chromium, {
    args: [...baseArgs(opts.profileDir, opts.budgetMs ?? 3000), "--dump-dom", url],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}
