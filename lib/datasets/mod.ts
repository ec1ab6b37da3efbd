/**
 * The datasets of lme4's help pages and papers, shipped with the library so
 * that `lmer(formula, dataset("sleepstudy"))` works with nothing else
 * installed, from a checkout or from a URL.
 *
 * Each dataset is one module in `data/` (written by
 * `tests/fixtures/datasets_export.R` from the R package that defines it): its
 * columns as JSON, zlib-compressed and base64-encoded. The modules are part of
 * the import graph, so they arrive with `mod.ts` wherever it is imported
 * from, without file or network permissions; a dataset is decoded on its
 * first use and cached.
 *
 * Factor columns come back as polars `Categorical` columns whose level order
 * and orderedness (cake's `temperature`, InstEval's `studage` and `lectage`,
 * VerbAgg's `resp` are R ordered factors) are registered with the library
 * (`lib/data/categorical.ts`), so a model frame reads them exactly as R's
 * `model.frame` does, also after polars operations on the frame.
 * @module
 */
import { Buffer } from "node:buffer";
import { inflateSync } from "node:zlib";
import { pl } from "../deps.ts";
import type { DataFrame } from "../data/table.ts";
import { categoricalSeries } from "../data/categorical.ts";
import sleepstudy from "./data/sleepstudy.ts";
import Dyestuff from "./data/Dyestuff.ts";
import Dyestuff2 from "./data/Dyestuff2.ts";
import Penicillin from "./data/Penicillin.ts";
import Pastes from "./data/Pastes.ts";
import cake from "./data/cake.ts";
import cbpp from "./data/cbpp.ts";
import InstEval from "./data/InstEval.ts";
import VerbAgg from "./data/VerbAgg.ts";
import grouseticks from "./data/grouseticks.ts";
import Contraception from "./data/Contraception.ts";

const PACKED: Readonly<Record<DatasetName, string>> = {
  sleepstudy,
  Dyestuff,
  Dyestuff2,
  Penicillin,
  Pastes,
  cake,
  cbpp,
  InstEval,
  VerbAgg,
  grouseticks,
  Contraception,
};

/**
 * The name of a shipped dataset (R's name, same spelling):
 *
 * | name | source | rows | what it is |
 * | --- | --- | ---: | --- |
 * | `sleepstudy` | lme4 | 180 | Reaction times (ms, `Reaction`) of 18 subjects (`Subject`) on days 0–9 of sleep deprivation (`Days`). Belenky et al. (2003). |
 * | `Dyestuff` | lme4 | 30 | Yield of dyestuff (`Yield`, grams of standard colour) in 6 batches (`Batch`) of an intermediate product, 5 preparations each. Davies (1947). |
 * | `Dyestuff2` | lme4 | 30 | Simulated data of the same layout as `Dyestuff` whose between-batch variance is estimated as zero. Box & Tiao (1973). |
 * | `Penicillin` | lme4 | 144 | Diameter (mm, `diameter`) of the zone of growth inhibition for 6 penicillin samples (`sample`) on 24 plates (`plate`): fully crossed. Davies (1972). |
 * | `Pastes` | lme4 | 60 | Strength of a chemical paste (`strength`) from 2 casks (`cask`) in each of 10 batches (`batch`), 2 assays each; `sample` is batch:cask. Davies (1972). |
 * | `cake` | lme4 | 270 | Breakage angle of chocolate cakes (`angle`) for 3 recipes (`recipe`) baked at 6 temperatures (`temperature`, an ordered factor; `temp` numeric), 15 replicates (`replicate`). Cook (1938). |
 * | `cbpp` | lme4 | 56 | Contagious bovine pleuropneumonia: new cases (`incidence`) among `size` zebu cattle in 15 herds (`herd`) over 4 periods (`period`). Lesnoff et al. (2004). |
 * | `InstEval` | lme4 | 73,421 | University lecture evaluations: rating `y` (1–5) by students `s` (2,972) of lecturers `d` (1,128), with `studage`, `lectage` (ordered), `service`, `dept`. ETH Zürich. |
 * | `VerbAgg` | lme4 | 7,584 | Verbal aggression item responses (`resp`, ordered; `r2` binary) of 316 persons (`id`) to 24 items (`item`), with `Anger`, `Gender`, `btype`, `situ`, `mode`. De Boeck & Wilson (2004). |
 * | `grouseticks` | lme4 | 403 | Ticks counted on red grouse chicks (`TICKS`) by brood (`BROOD`), year (`YEAR`), location (`LOCATION`) and height (`HEIGHT`, `cHEIGHT` centred). Elston et al. (2001). |
 * | `Contraception` | mlmRev | 1,934 | Bangladesh Fertility Survey 1989: contraceptive use (`use`) of women (`woman`) in 60 districts (`district`) by `age` (centred), `urban`, living children (`livch`). Huq & Cleland (1990). |
 */
export type DatasetName =
  | "sleepstudy"
  | "Dyestuff"
  | "Dyestuff2"
  | "Penicillin"
  | "Pastes"
  | "cake"
  | "cbpp"
  | "InstEval"
  | "VerbAgg"
  | "grouseticks"
  | "Contraception";

interface ColumnSpec {
  name: string;
  type: "factor" | "ordered" | "integer" | "numeric" | "logical" | "character";
  levels?: string[];
  codes?: (number | null)[];
  values?: (number | boolean | string | null)[];
}

interface DatasetSpec {
  name: string;
  nrow: number;
  columns: ColumnSpec[];
}

const cache = new Map<DatasetName, DataFrame>();

/** The names of the shipped datasets, in the order of the table in {@link DatasetName}. */
export function datasetNames(): DatasetName[] {
  return Object.keys(PACKED) as DatasetName[];
}

function decode(name: DatasetName): DatasetSpec {
  const json = inflateSync(Buffer.from(PACKED[name], "base64")).toString("utf8");
  return JSON.parse(json) as DatasetSpec;
}

function buildFrame(spec: DatasetSpec): DataFrame {
  const series = spec.columns.map((c) => {
    if (c.type === "factor" || c.type === "ordered") {
      const levels = c.levels ?? [];
      const codes = Int32Array.from(c.codes ?? [], (v) => (v === null ? -1 : v - 1));
      return categoricalSeries(c.name, levels, codes, c.type === "ordered");
    }
    const values = c.values ?? [];
    if (c.type === "integer") return pl.Series(c.name, values, pl.Int32);
    if (c.type === "numeric") {
      return pl.Series(c.name, values.map((v) => (v === null ? null : Number(v))), pl.Float64);
    }
    if (c.type === "logical") return pl.Series(c.name, values, pl.Bool);
    return pl.Series(c.name, values, pl.Utf8);
  });
  return pl.DataFrame(series) as unknown as DataFrame;
}

/**
 * One of lme4's datasets (and mlmRev's `Contraception`) as a nodejs-polars
 * DataFrame, with R's column types: factors as `Categorical` columns that
 * the library reads with R's level order, ordered factors as ordered (so
 * `cake$temperature` gets polynomial contrasts with no options), integers as `Int32`, doubles as
 * `Float64`. See {@link DatasetName} for the list. The first call decodes the
 * data (InstEval, the largest, in about 0.1 s); later calls return a copy
 * of the cached frame (polars copies share their buffers).
 *
 * @example
 * ```ts
 * import { dataset } from "./mod.ts";
 * const sleep = dataset("sleepstudy");
 * console.log(sleep.height, sleep.columns); // 180 [ "Reaction", "Days", "Subject" ]
 * ```
 */
export function dataset(name: DatasetName): DataFrame {
  if (typeof name !== "string" || !Object.hasOwn(PACKED, name)) {
    const known = datasetNames();
    const lower = typeof name === "string" ? name.toLowerCase() : "";
    const near = known.find((k) => k.toLowerCase() === lower);
    throw new RangeError(
      `dataset: unknown dataset ${JSON.stringify(String(name)).slice(0, 60)}` +
        (near ? ` (did you mean '${near}'?)` : "") + `; available: ${known.join(", ")}`,
    );
  }
  let df = cache.get(name);
  if (!df) {
    df = buildFrame(decode(name));
    cache.set(name, df);
  }
  return (df as unknown as { clone(): DataFrame }).clone();
}
