/**
 * The library is importable from a URL: serve this checkout on 127.0.0.1
 * with a TypeScript content type, import mod.ts by URL from a folder with
 * no deno.json (so no import map can help), and fit sleepstudy.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("mod.ts imported by URL fits sleepstudy", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 403 });
      try {
        const body = await Deno.readFile(new URL("." + path, ROOT));
        const type = path.endsWith(".ts") ? "application/typescript" : "text/plain";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  const dir = await Deno.makeTempDir();
  try {
    // the datasets come through the module graph: no file path is involved
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { dataset, lmer } from "http://127.0.0.1:${port}/mod.ts";
const m = lmer("Reaction ~ Days + (Days | Subject)", dataset("sleepstudy"));
const cake = lmer("angle ~ recipe * temperature + (1 | recipe:replicate)", dataset("cake"));
console.log(JSON.stringify({ fixef: m.fixef(), theta: Array.from(m.theta), cake: cake.fixef() }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-lock",
        "--no-config",
        `--allow-import=127.0.0.1:${port}`,
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "--allow-ffi",
        `--reload=http://127.0.0.1:${port}`,
        "main.ts",
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const res = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
    assert.ok(Math.abs(res.fixef["(Intercept)"] - 251.405104848485) < 1e-6);
    assert.ok(Math.abs(res.fixef.Days - 10.467285959596) < 1e-6);
    assert.ok(Math.abs(res.theta[0] - 0.96674177) < 1e-6);
    // cake's ordered temperature arrives ordered: polynomial contrasts
    assert.ok(Math.abs(res.cake["temperature.L"] - 6.430329918219) < 1e-6);
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
