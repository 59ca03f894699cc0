/**
 * What the Temporal server was asked to do, counted from its own Prometheus metrics: frontend calls by
 * operation (`service_requests`), persistence calls by operation (`persistence_requests`) and history
 * tasks by type (`task_requests`). CPU says how much the server spent; these say on what, so a difference
 * between a delivery and the baseline can be traced to the calls that make it.
 */

/** Counter totals by label value, summed over every other label. */
export interface RequestCounts {
  frontend: Record<string, number>;
  persistence: Record<string, number>;
  tasks: Record<string, number>;
}

const COUNTERS: ReadonlyArray<{ metric: string; into: keyof RequestCounts; label: string; where?: [string, string] }> = [
  { metric: 'service_requests', into: 'frontend', label: 'operation', where: ['service_name', 'frontend'] },
  { metric: 'persistence_requests', into: 'persistence', label: 'operation' },
  { metric: 'task_requests', into: 'tasks', label: 'task_type' },
];

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses the Prometheus text of one or more servers (the cluster's nodes are simply added together).
 * With `detail`, each key also names the service and namespace that made the call.
 */
export function parseRequestCounts(texts: readonly string[], detail = false): RequestCounts {
  const out: RequestCounts = { frontend: {}, persistence: {}, tasks: {} };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const counter = COUNTERS.find((c) => c.metric === m[1]);
      if (!counter) continue;
      const labels = Object.fromEntries([...m[2]!.matchAll(LABEL)].map((l) => [l[1]!, l[2]!]));
      if (counter.where && labels[counter.where[0]] !== counter.where[1]) continue;
      const key = detail && labels[counter.label] !== undefined ? `${labels[counter.label]}@${labels.service_name}/${labels.namespace}` : labels[counter.label];
      const value = Number(m[3]);
      if (key === undefined || !Number.isFinite(value)) continue;
      out[counter.into][key] = (out[counter.into][key] ?? 0) + value;
    }
  }
  return out;
}

/**
 * Calls per message between two readings, largest first, leaving out what happened less than once in
 * `minPerMessage` messages (background work that is not the load's).
 */
export function requestsPerMessage(before: RequestCounts, after: RequestCounts, n: number, minPerMessage = 0.05): RequestCounts {
  const per = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(
      Object.keys(b)
        .map((k): [string, number] => [k, Math.round(((b[k]! - (a[k] ?? 0)) / n) * 100) / 100])
        .filter(([, v]) => v >= minPerMessage)
        .sort((x, y) => y[1] - x[1]),
    );
  return { frontend: per(before.frontend, after.frontend), persistence: per(before.persistence, after.persistence), tasks: per(before.tasks, after.tasks) };
}

/** Reads the servers' counters now; undefined when no metrics address is known or one cannot be read. */
export async function readRequestCounts(urls: readonly string[], detail = process.env.BENCH_REQUESTS_DETAIL === '1'): Promise<RequestCounts | undefined> {
  if (urls.length === 0) return undefined;
  try {
    const texts = await Promise.all(urls.map(async (u) => (await fetch(u, { signal: AbortSignal.timeout(5_000) })).text()));
    return parseRequestCounts(texts, detail);
  } catch {
    return undefined;
  }
}
