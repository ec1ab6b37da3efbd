/** Test helper for the R-identical random streams (lib/rng). */
import { getLogSource, type LogSource, setLogSource } from "../../lib/rng/log.ts";

/** Runs `f` with the given log source, restoring the previous one. */
export function withLogSource(source: LogSource, f: () => void): void {
  const before = getLogSource();
  setLogSource(source);
  try {
    f();
  } finally {
    setLogSource(before);
  }
}
