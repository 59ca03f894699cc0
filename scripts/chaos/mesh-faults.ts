/**
 * Chaos: a fault-injecting proxy between the worker and MESH (mesh-sandbox) for a whole run of 1,000
 * documents: 5xx, 429 with Retry-After, resets before the request reaches MESH, lost responses, 500s
 * and timeouts after MESH has acted on the request, and slow responses, on every MESH call the worker
 * makes (send, list, download, acknowledge, lookups, handshake). The GP practice peer talks to MESH
 * directly. Verdict as for kill-worker; in particular no duplicate from a lost first POST.
 * Environment: CHAOS_COUNT (1000), CHAOS_FAULT_RATE (fraction of requests faulted, 0.12), CHAOS_SEED.
 * Run: npm run chaos -- mesh-faults
 */
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy';
import { envNum, main, runChaos } from './common';

const FIRST_POST = /^\/messageexchange\/X26ABC1\/outbox$/;

let proxy: FaultProxy | undefined;

/** Share of each fault among faulted requests. */
const MIX: Array<{ fault: Fault; weight: number }> = [
  { fault: 'server-error', weight: 25 },
  { fault: 'rate-limit', weight: 20 },
  { fault: 'drop-request', weight: 12 },
  { fault: 'drop-response', weight: 15 },
  { fault: 'error-after-forward', weight: 10 },
  { fault: 'timeout-after-forward', weight: 3 },
  { fault: 'slow', weight: 15 },
];

main(() =>
  runChaos({
    name: 'mesh-faults',
    count: envNum('CHAOS_COUNT', 1000),
    concurrency: 16,
    async meshFront(services) {
      const rate = envNum('CHAOS_FAULT_RATE', 0.12);
      const total = MIX.reduce((a, m) => a + m.weight, 0);
      const mix = [{ fault: 'pass' as Fault, weight: (total * (1 - rate)) / rate }, ...MIX];
      proxy = await startFaultProxy(services.meshUrl, [{ method: 'GET', path: /^\/messageexchange\/X26ABC1/, mix }, { method: 'POST', path: /^\/messageexchange\/X26ABC1/, mix }, { method: 'PUT', path: /^\/messageexchange\/X26ABC1/, mix }], {
        seed: envNum('CHAOS_SEED', 42),
        slowMs: 3000,
      });
      return proxy;
    },
    async during({ submitted }) {
      while (!submitted()) await new Promise((r) => setTimeout(r, 1000));
      const firstPosts = proxy!.log.filter((e) => e.method === 'POST' && FIRST_POST.test(e.path));
      const lostAfterMesh = firstPosts.filter((e) => e.forwarded && (e.fault === 'drop-response' || e.fault === 'error-after-forward' || e.fault === 'timeout-after-forward'));
      // Counted when the load ends; deliveries still in flight add more, which the proxy.* counts include.
      return { firstPostsFaultedAfterMeshTookThem: lostAfterMesh.length, firstPostsSeen: firstPosts.length };
    },
  }),
);
