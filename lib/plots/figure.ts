/**
 * The {@link Figure}: one or more Observable Plot panels composed into a
 * single standalone SVG with a title, subtitle, legend and caption drawn as
 * SVG text. The same SVG markup is `toSVG()`, what resvg rasterizes for
 * `toPNG()`, and what a notebook shows: every way of looking at a figure
 * shows the same picture.
 *
 * In a notebook the figure is a MIME bundle that every front end can show,
 * trusted or not (see {@link Figure.notebookHTML}): `text/html` is an
 * `<img>` of the SVG as a `data:` URI (notebook sanitizers keep it, where they
 * strip inline `<svg>`; SMIL animation runs in an `<img>`), followed by a
 * small script that, where scripts run (trusted notebooks, nbconvert's HTML
 * export, VS Code), swaps the `<img>` for the inline SVG so that hover
 * tooltips work; `image/png` (resvg) for front ends that show no HTML.
 *
 * Plot renders on a linkedom document (there is no DOM in Deno). Titles,
 * captions and legends are drawn here rather than by Plot because Plot
 * returns them as an HTML `<figure>`, which is neither an SVG file nor
 * something resvg can rasterize.
 * @module
 */
import { loadResvg, type Markish, type PlotOptions } from "../deps.ts";
import { parseHTML, Plot, Resvg, type ResvgClass } from "./plot.ts";
import { encodePalettePng } from "./png.ts";
import { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from "../display/bundle.ts";

/**
 * Observable Plot's options of one panel (its `PlotOptions`: size, margins,
 * scales such as `x: { domain, label }`, and `marks`).
 * (Plot's own type, hidden from deno doc, whose lint would walk Plot's declarations.)
 * @ignore
 */
export type PanelOptions = PlotOptions;

/**
 * An Observable Plot mark (`Plot.dot(...)`, `Plot.ruleY([0])`, ...), Plot's `Markish`.
 * (Plot's own type, hidden from deno doc, whose lint would walk Plot's declarations.)
 * @ignore
 */
export type PanelMark = Markish;

/** How a legend entry is drawn. */
export type LegendSymbol = "dot" | "ring" | "line" | "dashed" | "bar" | "arrow";

/** One entry of a figure's legend. */
export interface LegendItem {
  /** The text. */
  readonly label: string;
  /** CSS colour of the symbol. */
  readonly color: string;
  /** Symbol: a dot, the "black hole" ring, a solid/dashed line, a crossbar, an arrow. */
  readonly symbol: LegendSymbol;
  /** Opacity of the symbol (default 1). */
  readonly opacity?: number;
}

/** The minimal DOM surface the figures touch (linkedom implements it). */
export interface DomElement {
  /** Upper-case tag name for HTML, as written for SVG. */
  readonly tagName: string;
  /** Serialized markup. */
  readonly outerHTML: string;
  /** Child elements. */
  readonly children: ArrayLike<DomElement>;
  /** The parent element, if attached. */
  readonly parentNode: DomElement | null;
  /** Set an attribute. */
  setAttribute(name: string, value: string): void;
  /** Read an attribute. */
  getAttribute(name: string): string | null;
  /** Remove an attribute. */
  removeAttribute(name: string): void;
  /** Append a child. */
  appendChild(child: DomElement): DomElement;
  /** Insert a child before another. */
  insertBefore(child: DomElement, before: DomElement | null): DomElement;
  /** First descendant matching a CSS selector. */
  querySelector(selector: string): DomElement | null;
  /** All descendants matching a CSS selector. */
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  /** Detach from the parent. */
  remove(): void;
}

/** A Plot scale as `plot.scale(name)` returns it. */
export interface RenderedScale {
  /** Map a data value to pixels (or a colour). */
  apply(value: unknown): number | string;
  /** The scale's domain. */
  readonly domain: readonly unknown[];
}

/** A rendered Plot panel: its `<svg>` and the scales it used. */
export interface RenderedPanel {
  /** The panel's root `<svg>` (Plot's `<style>` and class removed). */
  readonly svg: DomElement;
  /** Look up a scale ("x", "y", "color", "r") of the rendered panel. */
  scale(name: string): RenderedScale | undefined;
  /** The document to create elements with. */
  readonly document: DomDocument;
}

/** The part of a DOM document used to add elements (e.g. SMIL `<animate>`). */
export interface DomDocument {
  /** Create a namespaced element. */
  createElementNS(ns: string, name: string): DomElement;
}

/**
 * A post-processing step on a rendered panel (index `panel`), e.g. adding SMIL
 * animation to Plot's circles.
 */
export type PanelHook = (rendered: RenderedPanel, panel: number) => void;

/** What a figure is made of (see {@link Figure}). */
export interface FigureSpec {
  /** Bold line at the top. */
  readonly title?: string;
  /** A line under the title (e.g. the model formula). */
  readonly subtitle?: string;
  /** Explanatory text under the panels (wrapped). */
  readonly caption?: string;
  /**
   * The caption of the PNG, when the caption speaks of interaction (hover)
   * that an image does not have (default: the caption).
   */
  readonly staticCaption?: string;
  /** Legend entries drawn under the subtitle. */
  readonly legend?: readonly LegendItem[];
  /** Observable Plot options of each panel (with their marks). */
  readonly panels: readonly PanelOptions[];
  /** Panels per row (default: all in one row). */
  readonly columns?: number;
  /** The `text/plain` description shown where graphics are not. */
  readonly description?: string;
  /** Post-processing of rendered panels (SMIL animation). */
  readonly hook?: PanelHook;
  /** A still version used for PNG when the SVG is animated (resvg ignores SMIL). */
  readonly still?: FigureSpec;
}

/** Changes for {@link Figure.with}. */
export interface FigureChanges {
  /** New title (empty string removes it). */
  readonly title?: string;
  /** New subtitle. */
  readonly subtitle?: string;
  /** New caption. */
  readonly caption?: string;
  /** New legend entries. */
  readonly legend?: readonly LegendItem[];
  /**
   * Plot options merged into the panels (scale options such as `x` or `y`
   * are merged key by key), e.g. `{ width: 800, y: { domain: [-4, 4] } }`.
   */
  readonly options?: Partial<PanelOptions>;
  /** Extra Plot marks drawn on top of the panel's marks. */
  readonly marks?: readonly PanelMark[];
  /** The panel that `options` and `marks` apply to (default: options to all, marks to 0). */
  readonly panel?: number;
}

/** Options of {@link Figure.toPNG}. */
export interface PngOptions {
  /** Pixels per SVG unit (default 2, for crisp text on high-density screens). */
  readonly scale?: number;
  /**
   * Font files for the labels. Default: DejaVu Sans from the usual Linux
   * locations (Debian package `fonts-dejavu-core`). resvg draws no text at
   * all without a font, so a missing font is an error, never a blank label.
   */
  readonly fontFiles?: readonly string[];
  /** Family name in those files that replaces `system-ui`/`sans-serif` (default "DejaVu Sans"). */
  readonly fontFamily?: string;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif";
const PAD = 16;
const TITLE_SIZE = 17;
const SUBTITLE_SIZE = 13;
const LEGEND_SIZE = 12;
const CAPTION_SIZE = 12;
const PANEL_GAP = 8;
// An average glyph advance of DejaVu Sans (the widest of the fonts the SVG may
// be drawn with) as a fraction of the font size: wrapping with it never overflows.
const CHAR_EM = 0.58;

const FONT_DIRS = [
  "/usr/share/fonts/truetype/dejavu",
  "/usr/share/fonts/dejavu",
  "/usr/share/fonts/TTF",
  "/usr/share/fonts/dejavu-sans-fonts",
  "/usr/local/share/fonts",
  "/Library/Fonts",
];
const FONT_NAMES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

let sharedDocument: DomDocument | undefined;

/** One linkedom document for every figure (creating one costs ~1 ms). */
function plotDocument(): DomDocument {
  if (!sharedDocument) {
    const win = parseHTML("<!DOCTYPE html><html><head></head><body></body></html>") as unknown as {
      document: DomDocument;
    };
    sharedDocument = win.document;
  }
  return sharedDocument;
}

/** Set several attributes at once. */
export function setAttributes(el: DomElement, attrs: Record<string, string>): void {
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
}

/** Escape text for SVG/XML (the same rules as HTML text and attributes). */
export function escapeXml(s: string): string {
  return escapeHtml(s).replace(/'/g, "&#39;");
}

/** Greedy word wrap to at most `width` pixels at `size` px. */
export function wrapText(text: string, width: number, size: number): string[] {
  const max = Math.max(10, Math.floor(width / (size * CHAR_EM)));
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/).filter((w) => w.length)) {
      if (line && line.length + 1 + word.length > max) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

/** Rough text width in pixels (for legend layout). */
function textWidth(text: string, size: number): number {
  return text.length * size * CHAR_EM;
}

/** Merge Plot options: scale objects key by key, marks concatenated, the rest replaced. */
function mergeOptions(base: PlotOptions, extra: Partial<PanelOptions>): PlotOptions {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const old = out[k];
    if (k === "marks") out[k] = [...((old as Markish[]) ?? []), ...((v as Markish[]) ?? [])];
    else if (isPlainObject(old) && isPlainObject(v)) out[k] = { ...old, ...v };
    else out[k] = v;
  }
  return out as PlotOptions;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    Object.getPrototypeOf(v) === Object.prototype;
}

/** The legend's symbol, 22 px wide, centred on y = 0. */
function legendSymbol(item: LegendItem): string {
  const c = escapeXml(item.color);
  const op = item.opacity ?? 1;
  switch (item.symbol) {
    case "dot":
      return `<circle cx="11" cy="0" r="4.5" fill="${c}" fill-opacity="${op}"/>`;
    case "ring":
      return `<circle cx="11" cy="0" r="7" fill="${c}" fill-opacity="${0.25 * op}"/>` +
        `<circle cx="11" cy="0" r="4.5" fill="${c}" fill-opacity="${0.5 * op}"/>`;
    case "line":
      return `<line x1="0" x2="22" y1="0" y2="0" stroke="${c}" stroke-opacity="${op}" stroke-width="2"/>`;
    case "dashed":
      return `<line x1="0" x2="22" y1="0" y2="0" stroke="${c}" stroke-opacity="${op}" stroke-width="2" stroke-dasharray="5,3"/>`;
    case "bar":
      // A crossbar: short and thick, unlike a line.
      return `<line x1="4" x2="18" y1="0" y2="0" stroke="${c}" stroke-opacity="${op}" stroke-width="4"/>`;
    case "arrow":
      return `<line x1="0" x2="17" y1="0" y2="0" stroke="${c}" stroke-opacity="${op}" stroke-width="1.5"/>` +
        `<path d="M22,0L15,-3.5L15,3.5Z" fill="${c}" fill-opacity="${op}"/>`;
  }
}

/** Lay the legend out in rows that fit `width`; returns markup and height. */
function legendBlock(items: readonly LegendItem[], width: number): { svg: string; height: number } {
  if (!items.length) return { svg: "", height: 0 };
  const rowH = LEGEND_SIZE + 8;
  let x = 0, y = rowH / 2;
  const parts: string[] = [];
  for (const it of items) {
    const w = 22 + 6 + textWidth(it.label, LEGEND_SIZE) + 18;
    if (x > 0 && x + w > width) (x = 0, y += rowH);
    parts.push(
      `<g transform="translate(${x.toFixed(1)},${y})">${legendSymbol(it)}` +
        `<text x="28" y="0" dy="0.35em" font-size="${LEGEND_SIZE}">${
          escapeXml(it.label)
        }</text></g>`,
    );
    x += w;
  }
  return { svg: parts.join(""), height: y + rowH / 2 };
}

/** Find DejaVu Sans (regular and bold) where Linux distributions put it. */
export function defaultFontFiles(): string[] {
  const found: string[] = [];
  for (const name of FONT_NAMES) {
    for (const dir of FONT_DIRS) {
      const path = `${dir}/${name}`;
      try {
        if (Deno.statSync(path).isFile) {
          found.push(path);
          break;
        }
      } catch {
        // not in this directory
      }
    }
  }
  return found;
}

/**
 * A figure: Observable Plot panels with a title, legend and caption, shown
 * inline in notebooks, and exported with {@link Figure.toSVG},
 * {@link Figure.toPNG} and {@link Figure.save}. Figures are immutable;
 * {@link Figure.with} returns a restyled copy, and {@link Figure.panels} holds
 * the Plot options of each panel for use with `Plot.plot` directly.
 *
 * @example
 * ```ts
 * import { Figure } from "./figure.ts";
 * import { Plot } from "./plot.ts";
 * const fig = new Figure({
 *   title: "Two points",
 *   panels: [{ marks: [Plot.dot([{ a: 1, b: 2 }, { a: 2, b: 3 }], { x: "a", y: "b" })] }],
 * });
 * console.log(fig.toSVG().startsWith("<svg xmlns")); // true
 * ```
 */
export class Figure {
  /** The title (bold, top left). */
  readonly title: string | undefined;
  /** The line under the title. */
  readonly subtitle: string | undefined;
  /** The explanation under the panels. */
  readonly caption: string | undefined;
  /** Legend entries. */
  readonly legend: readonly LegendItem[];
  /** Plot options of each panel, marks included: pass to `Plot.plot` to draw a panel yourself. */
  readonly panels: readonly PanelOptions[];
  /** Panels per row. */
  readonly columns: number;
  /** The text shown where graphics are not (`text/plain`). */
  readonly description: string;
  readonly #spec: FigureSpec;
  #svg: string | undefined;
  #png: Uint8Array | null | undefined;

  /** Build a figure from Plot panels and its texts. */
  constructor(spec: FigureSpec) {
    if (!spec.panels.length) throw new RangeError("a figure needs at least one panel");
    this.#spec = spec;
    this.title = spec.title || undefined;
    this.subtitle = spec.subtitle || undefined;
    this.caption = spec.caption || undefined;
    this.legend = spec.legend ?? [];
    this.panels = spec.panels;
    this.columns = Math.max(1, Math.min(spec.columns ?? spec.panels.length, spec.panels.length));
    this.description = spec.description ?? this.title ?? "Figure";
  }

  /** The Plot options of the first (often only) panel. */
  get options(): PanelOptions {
    return this.panels[0];
  }

  /** Whether the SVG carries a SMIL animation. */
  get animated(): boolean {
    return this.#spec.still !== undefined;
  }

  /**
   * A copy with other texts, Plot options or extra marks.
   *
   * @example
   * ```ts
   * import { Figure } from "./figure.ts";
   * import { Plot } from "./plot.ts";
   * const fig = new Figure({ panels: [{ marks: [Plot.ruleY([0])] }] });
   * const wider = fig.with({ title: "Zero", options: { width: 800 }, marks: [Plot.ruleX([0])] });
   * console.log(wider.options.width); // 800
   * ```
   */
  with(changes: FigureChanges): Figure {
    const apply = (spec: FigureSpec): FigureSpec => {
      const panels = spec.panels.map((p, i) => {
        let out = p;
        const forOptions = changes.panel === undefined || changes.panel === i;
        const forMarks = (changes.panel ?? 0) === i;
        if (changes.options && forOptions) out = mergeOptions(out, changes.options);
        if (changes.marks && forMarks) out = mergeOptions(out, { marks: [...changes.marks] });
        return out;
      });
      return {
        ...spec,
        title: changes.title ?? spec.title,
        subtitle: changes.subtitle ?? spec.subtitle,
        caption: changes.caption ?? spec.caption,
        staticCaption: changes.caption ?? spec.staticCaption,
        legend: changes.legend ?? spec.legend,
        panels,
      };
    };
    const spec = apply(this.#spec);
    return new Figure({ ...spec, still: this.#spec.still && apply(this.#spec.still) });
  }

  /**
   * The figure as a standalone SVG document (with `xmlns`, white background).
   *
   * @example
   * ```ts
   * import { Figure } from "./figure.ts";
   * import { Plot } from "./plot.ts";
   * const svg = new Figure({ panels: [{ marks: [Plot.ruleY([0])] }] }).toSVG();
   * console.log(svg.includes('xmlns="http://www.w3.org/2000/svg"')); // true
   * ```
   */
  toSVG(): string {
    return this.#svg ??= renderFigure(this.#spec);
  }

  /**
   * HTML for a notebook or a web page: the SVG inline in a `<div>`. Inline
   * SVG keeps its styling through nbconvert's HTML export and notebook
   * sanitizers, where an `<img>` of `image/svg+xml` does not.
   *
   * @example
   * ```ts
   * import { Figure } from "./figure.ts";
   * import { Plot } from "./plot.ts";
   * const html = new Figure({ panels: [{ marks: [Plot.ruleY([0])] }] }).toHTML();
   * console.log(html.startsWith("<div")); // true
   * ```
   */
  toHTML(): string {
    return `<div class="deno-lmer-figure" style="max-width:100%;overflow-x:auto">${this.toSVG()}</div>`;
  }

  /**
   * Rasterize with resvg. An animated figure rasterizes its still version
   * (arrows instead of movement), since a PNG cannot move.
   *
   * @example
   * ```ts ignore
   * const png = await fig.toPNG({ scale: 1 });
   * ```
   */
  async toPNG(options: PngOptions = {}): Promise<Uint8Array> {
    const svg = this.#stillSVG();
    return rasterize(Resvg ?? (await loadResvg()).Resvg as unknown as ResvgClass, svg, options);
  }

  /**
   * The SVG that a PNG shows: the still version of an animated figure, with
   * the caption for images without interaction.
   */
  #stillSVG(): string {
    const spec = this.#spec.still ?? this.#spec;
    if (spec.staticCaption === undefined || spec.staticCaption === spec.caption) {
      return spec === this.#spec ? this.toSVG() : new Figure(spec).toSVG();
    }
    return new Figure({ ...spec, caption: spec.staticCaption }).toSVG();
  }

  /**
   * The notebook's PNG (1 px per SVG unit, so that it shows at the SVG's
   * size; a palette image, see png.ts), or undefined where resvg or a font
   * is missing.
   */
  #notebookPNG(): Uint8Array | undefined {
    if (this.#png === undefined) {
      try {
        const img = Resvg ? render(Resvg, this.#stillSVG(), { scale: 1 }) : undefined;
        this.#png = img ? encodePalettePng(img.pixels, img.width, img.height) : null;
      } catch {
        this.#png = null;
      }
    }
    return this.#png ?? undefined;
  }

  /**
   * The notebook's `text/html`: an `<img>` of the SVG as a base64 `data:`
   * URI, which notebook sanitizers keep (the classic notebook and JupyterLab
   * keep `data:` images in untrusted outputs, where they strip inline
   * `<svg>` and leave its text as a paragraph), and in which SMIL animation
   * runs. A script follows that, where scripts run (trusted notebooks,
   * nbconvert's HTML export, VS Code), replaces every such `<img>` on the
   * page by its inline SVG, so that the points' hover tooltips work;
   * sanitizers drop the script and the `<img>` stays.
   *
   * @example
   * ```ts
   * import { Figure } from "./figure.ts";
   * import { Plot } from "./plot.ts";
   * const html = new Figure({ panels: [{ marks: [Plot.ruleY([0])] }] }).notebookHTML();
   * console.log(html.startsWith('<img src="data:image/svg+xml;base64,')); // true
   * ```
   */
  notebookHTML(): string {
    const svg = this.toSVG();
    const m = /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
    const [w, h] = m ? [m[1], m[2]] : ["640", "400"];
    const alt = escapeXml(this.title ?? this.description);
    return `<img src="data:image/svg+xml;base64,${base64(new TextEncoder().encode(svg))}" ` +
      `width="${w}" height="${h}" alt="${alt}" class="deno-lmer-figure" ` +
      `style="max-width:100%;height:auto;background:white">` + INLINE_SCRIPT;
  }

  /**
   * Write the figure to a `.svg`, `.png` or `.html` file.
   *
   * @example
   * ```ts ignore
   * await fig.save("out/shrinkage.png");
   * ```
   */
  async save(path: string | URL, options: PngOptions = {}): Promise<void> {
    const name = String(path).toLowerCase();
    if (name.endsWith(".svg")) await Deno.writeTextFile(path, this.toSVG());
    else if (name.endsWith(".png")) await Deno.writeFile(path, await this.toPNG(options));
    else if (name.endsWith(".html")) {
      await Deno.writeTextFile(
        path,
        `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${
          escapeHtml(this.title ?? "Figure")
        }</title></head><body style="margin:0;background:white">${this.toHTML()}</body></html>`,
      );
    } else {
      throw new RangeError(
        `save: cannot tell the format of '${String(path)}': use a .svg, .png or .html file name`,
      );
    }
  }

  /**
   * Notebook display: `text/html` ({@link Figure.notebookHTML}: the SVG as an
   * `<img>` that sanitizers keep), `image/png` (for front ends without HTML;
   * omitted where resvg or a font is missing) and a text description.
   * No `image/svg+xml`: every front end that would draw it prefers the
   * `text/html`, and JupyterLab refuses it untrusted.
   */
  [JUPYTER_DISPLAY](): MimeBundle {
    const png = this.#notebookPNG();
    return {
      "text/plain": this.toString(),
      "text/html": this.notebookHTML(),
      ...(png ? { "image/png": base64(png) } : {}),
    };
  }

  /** The description (what `text/plain` shows). */
  toString(): string {
    return this.description;
  }
}

/** Render one Plot panel to its `<svg>` element. */
function renderPanel(options: PlotOptions, index: number, hook?: PanelHook): DomElement {
  const document = plotDocument();
  // Titles and legends belong to the figure: Plot would wrap the panel in an
  // HTML <figure>, which cannot live inside an SVG.
  const el = Plot.plot({
    ...options,
    title: undefined,
    subtitle: undefined,
    caption: undefined,
    document: document as unknown as PlotOptions["document"],
  }) as unknown as DomElement & { scale(name: string): RenderedScale | undefined };
  let svg: DomElement = el;
  if (el.tagName.toLowerCase() !== "svg") {
    // A legend made Plot return a <figure>: keep the chart, the last <svg> child.
    const all = el.querySelectorAll(":scope > svg");
    svg = all[all.length - 1];
  }
  // Plot's <style> scopes `height: auto; max-width: 100%` to its class; on a
  // nested <svg> a browser would apply them and stretch the panel.
  const cls = svg.getAttribute("class");
  if (cls) svg.removeAttribute("class");
  svg.querySelector("style")?.remove();
  svg.setAttribute("font-size", "11");
  hook?.(
    { svg, scale: (name) => el.scale(name) ?? undefined, document },
    index,
  );
  return svg;
}

// Plot numbers its ids per process (plot-clip-1, plot-clip-2, ... and
// likewise plot-marker-, plot-pattern-): the same figure rendered twice would
// differ, and figures from two processes (two kernels, a script and a
// notebook) would clash on one page, where a clip would cut the wrong figure.
// So the ids of a finished figure are renumbered in order of appearance and
// prefixed with a hash of the figure's markup: rendering is reproducible
// byte for byte, and different figures on one page have different ids.
const PLOT_ID = /(\bid="|url\(#|href="#)plot-([a-z]+)-(\d+)(?=[")])/g;

/**
 * Make the element ids Plot generated in a figure's markup deterministic:
 * `plot-clip-17` becomes `lmer-<hash>-clip-1`, where the numbers count within
 * the figure and `<hash>` is a hash of the figure's markup with those
 * numbers; references (`url(#…)`, `href="#…"`) follow their ids.
 */
export function stableIds(markup: string): string {
  const local = new Map<string, string>();
  const renumbered = markup.replace(PLOT_ID, (_, pre: string, kind: string, n: string) => {
    const key = `${kind}-${n}`;
    let id = local.get(key);
    if (id === undefined) local.set(key, id = `${kind}-${local.size + 1}`);
    return `${pre}plot-${id}`;
  });
  if (!local.size) return markup;
  const prefix = `lmer-${hash53(renumbered)}-`;
  return renumbered.replace(
    PLOT_ID,
    (_, pre: string, kind: string, n: string) => `${pre}${prefix}${kind}-${n}`,
  );
}

/** cyrb53, a fast 53-bit string hash (not cryptographic), in base 36. */
function hash53(s: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

function renderFigure(spec: FigureSpec): string {
  const rendered = spec.panels.map((p, i) => renderPanel(p, i, spec.hook));
  const size = rendered.map((s) => ({
    w: Number(s.getAttribute("width") ?? 640),
    h: Number(s.getAttribute("height") ?? 400),
  }));
  const cols = Math.max(1, Math.min(spec.columns ?? rendered.length, rendered.length));
  const rows: number[][] = [];
  for (let i = 0; i < rendered.length; i += cols) {
    rows.push(rendered.map((_, k) => k).slice(i, i + cols));
  }
  const rowW = rows.map((r) => r.reduce((s, k) => s + size[k].w, 0) + PANEL_GAP * (r.length - 1));
  const rowH = rows.map((r) => Math.max(...r.map((k) => size[k].h)));
  const width = Math.ceil(Math.max(...rowW) + 2 * PAD);
  const inner = width - 2 * PAD;

  const parts: string[] = [];
  let y = PAD;
  if (spec.title) {
    for (const line of wrapText(spec.title, inner, TITLE_SIZE)) {
      y += TITLE_SIZE;
      parts.push(
        `<text x="${PAD}" y="${y}" font-size="${TITLE_SIZE}" font-weight="bold">${
          escapeXml(line)
        }</text>`,
      );
      y += 4;
    }
  }
  if (spec.subtitle) {
    y += 2;
    for (const line of wrapText(spec.subtitle, inner, SUBTITLE_SIZE)) {
      y += SUBTITLE_SIZE;
      parts.push(
        `<text x="${PAD}" y="${y}" font-size="${SUBTITLE_SIZE}" fill="#444">${
          escapeXml(line)
        }</text>`,
      );
      y += 4;
    }
  }
  const legend = legendBlock(spec.legend ?? [], inner);
  if (legend.height) {
    y += 6;
    parts.push(`<g transform="translate(${PAD},${y})">${legend.svg}</g>`);
    y += legend.height;
  }
  y += y > PAD ? 6 : 0;
  rows.forEach((r, ri) => {
    let x = PAD;
    for (const k of r) {
      const s = rendered[k];
      s.setAttribute("x", String(x));
      s.setAttribute("y", String(y));
      parts.push(s.outerHTML);
      x += size[k].w + PANEL_GAP;
    }
    y += rowH[ri] + (ri < rows.length - 1 ? PANEL_GAP : 0);
  });
  if (spec.caption) {
    y += 8;
    for (const line of wrapText(spec.caption, inner, CAPTION_SIZE)) {
      y += CAPTION_SIZE + 3;
      parts.push(
        `<text x="${PAD}" y="${y}" font-size="${CAPTION_SIZE}" fill="#555">${
          escapeXml(line)
        }</text>`,
      );
    }
  }
  const height = Math.ceil(y + PAD);
  const label = escapeXml(spec.title ?? spec.description ?? "Figure");
  // `color` fixes Plot's currentColor to black: the background is white even
  // in a dark notebook theme, where inherited light text would vanish.
  return stableIds(roundCoordinates(
    `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `role="img" aria-label="${label}" font-family="${FONT}" color="#1a1a1a" fill="#1a1a1a" ` +
      `style="max-width:100%;height:auto;background:white">` +
      `<title>${label}</title>` +
      `<rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>`,
  ));
}

/** Base64 of bytes. */
function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

// Where scripts run, swap each figure's <img> for its inline SVG (hover
// tooltips). Deferred: the classic notebook runs an output's scripts before
// the output is attached to the page. Each <img> is replaced once.
const INLINE_SCRIPT = "<script>setTimeout(function(){" +
  'document.querySelectorAll("img.deno-lmer-figure").forEach(function(i){try{' +
  'var b=atob(i.src.slice(i.src.indexOf(",")+1)),u=new Uint8Array(b.length);' +
  "for(var k=0;k<b.length;k++)u[k]=b.charCodeAt(k);" +
  'var s=new DOMParser().parseFromString(new TextDecoder().decode(u),"image/svg+xml")' +
  '.documentElement;if(s.nodeName==="svg")i.replaceWith(document.importNode(s,true))' +
  "}catch(e){}})},0)</script>";

// Plot writes coordinates with full double precision (17 digits); two
// decimals are a hundredth of a pixel and make the markup ~30% smaller.
const COORD_ATTR =
  /(\s(?:x|y|x1|x2|y1|y2|cx|cy|r|d|transform|values|points|width|height)=")([^"]*)"/g;

/** Round the numbers in coordinate attributes to two decimals. */
function roundCoordinates(markup: string): string {
  return markup.replace(
    COORD_ATTR,
    (_, pre: string, v: string) =>
      `${pre}${
        v.replace(/-?\d+\.\d{3,}(?:e-?\d+)?/g, (n) => String(Math.round(Number(n) * 100) / 100))
      }"`,
  );
}

function rasterize(resvg: ResvgClass, svg: string, options: PngOptions): Uint8Array {
  return render(resvg, svg, options).asPng();
}

function render(resvg: ResvgClass, svg: string, options: PngOptions) {
  const fontFiles = options.fontFiles ? [...options.fontFiles] : defaultFontFiles();
  if (!fontFiles.length) {
    throw new Error(
      "toPNG: no font for the labels (resvg would draw the figure without any text). " +
        "Install DejaVu Sans (Debian: apt-get install fonts-dejavu-core) " +
        "or pass { fontFiles: ['/path/to/font.ttf'], fontFamily: 'Its Family' }",
    );
  }
  const family = options.fontFamily ?? "DejaVu Sans";
  const r = new resvg(svg, {
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: "white",
    font: {
      fontFiles,
      loadSystemFonts: false,
      defaultFontFamily: family,
      sansSerifFamily: family,
    },
  });
  return r.render();
}

export { SVG_NS };
