/**
 * Chaos: restart the Temporal dev server (same port, same SQLite file) in the middle of a run of 1,000
 * documents, alternately cleanly (SIGTERM) and hard (SIGKILL). The worker and the API stay up and must
 * reconnect by themselves; the submitter retries with the same Idempotency-Key, as a client should.
 * Verdict as for kill-worker. Environment: CHAOS_COUNT (1000), CHAOS_RESTARTS (3), CHAOS_DOWN_S (5).
 * Run: npm run chaos -- restart-temporal
 */
import { sleep } from '../../bench/lib/courier-system';
import { envNum, main, runChaos } from './common';

main(() =>
  runChaos({
    name: 'restart-temporal',
    count: envNum('CHAOS_COUNT', 1000),
    concurrency: 8,
    async during({ services, system, log, submittedCount }) {
      const restarts = envNum('CHAOS_RESTARTS', 3);
      const downMs = envNum('CHAOS_DOWN_S', 5) * 1000;
      const count = envNum('CHAOS_COUNT', 1000);
      let done = 0;
      let hard = 0;
      for (let i = 0; i < restarts; i++) {
        // Spread over the run: after 1/(n+1), 2/(n+1), ... of the submissions.
        const at = Math.floor((count * (i + 1)) / (restarts + 1));
        while (submittedCount() < at) await sleep(250);
        const isHard = i % 2 === 1;
        log(`restarting the Temporal dev server (${isHard ? 'SIGKILL' : 'SIGTERM'}, down ${downMs} ms) at ${submittedCount()} submitted`);
        const t = Date.now();
        await services.restartTemporal({ hard: isHard, downMs });
        log(`Temporal dev server back after ${Date.now() - t} ms`);
        done++;
        if (isHard) hard++;
      }
      // A supervisor would restart a worker that gave up while the server was away; count it if it did.
      const exits = system.unexpectedWorkerExits.length;
      if (exits > 0) {
        log(`the worker exited ${exits} time(s) while Temporal was away; restarting it`);
        await system.startWorker();
      }
      return { temporalRestarts: done, hardKills: hard };
    },
  }),
);
