/**
 * Chaos: kill -9 the worker again and again while 1,000 documents go through, starting it again each
 * time (as a supervisor would). Verdict: every delivery DELIVERED, no document received twice by the GP
 * practice peer, no acknowledgement lost. Environment: CHAOS_COUNT (1000), CHAOS_KILLS (10),
 * CHAOS_KILL_EVERY_S (mean seconds between kills, 8), CHAOS_SEED.
 * Run: npm run chaos -- kill-worker   (or node dist/scripts/chaos/kill-worker.js)
 */
import { sleep } from '../../bench/lib/courier-system';
import { envNum, main, runChaos } from './common';

main(() =>
  runChaos({
    name: 'kill-worker',
    count: envNum('CHAOS_COUNT', 1000),
    concurrency: 8,
    async during({ system, random, log, submitted }) {
      const kills = envNum('CHAOS_KILLS', 10);
      const every = envNum('CHAOS_KILL_EVERY_S', 8) * 1000;
      let done = 0;
      let downMs = 0;
      // Kills keep coming after the last submission while deliveries are still in flight.
      for (let i = 0; i < kills; i++) {
        await sleep(every * (0.5 + random()));
        const pid = system.workerPid();
        await system.stopWorker('SIGKILL');
        const down = 200 + Math.round(random() * 2000);
        log(`kill -9 worker ${pid} (${i + 1}/${kills}${submitted() ? ', all submitted' : ''}); restarting in ${down} ms`);
        await sleep(down);
        const t = Date.now();
        await system.startWorker();
        downMs += down + (Date.now() - t);
        done++;
      }
      return { workerKills: done, workerDownSeconds: Math.round(downMs / 1000) };
    },
  }),
);
