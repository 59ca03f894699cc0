/**
 * Prometheus: a worker's /metrics answers the Temporal SDK's runtime metrics followed by ours (activity
 * executions per type and worker identity, inbox lag), and the API's /metrics the fleet gauges read from
 * visibility (messages by state, oldest wait, escalations open, quarantine size). Both scraped over HTTP.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createWorkerMetrics, serveMetrics } from '../../../worker/metrics';
import { installRuntime } from '../../../worker/runtime';
import { freePort } from '../../../scripts/lib/services';
import { eventually, startHarness, type Harness } from '../../helpers/courier-harness';

jest.setTimeout(120_000);

const example = JSON.parse(readFileSync(path.join(__dirname, '../../../examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & { encounter: { id: string } };

/** `name{labels} value` lines of a Prometheus text exposition. */
function samples(text: string, name: string): Array<{ labels: string; value: number }> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const m = /^[^{ ]+(\{[^}]*\})? ([^ ]+)/.exec(l)!;
      return { labels: m[1] ?? '', value: Number(m[2]) };
    });
}

describe('Prometheus metrics', () => {
  let h: Harness;
  let server: Awaited<ReturnType<typeof serveMetrics>>;
  const metrics = createWorkerMetrics();

  beforeAll(async () => {
    const sdkAddress = `127.0.0.1:${await freePort()}`;
    // This test file's SDK runtime exports Prometheus metrics (the harness then reuses it).
    installRuntime({ logger: pino({ level: 'warn' }), prometheusBindAddress: sdkAddress, level: 'WARN' });
    h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '2s', ITK3_BUS_ACK_TIMEOUT: '60s', ITK3_WORKER_IDENTITY: 'metrics-test-worker' }, { workerMetrics: metrics });
    server = await serveMetrics({ host: '127.0.0.1', port: 0, registries: [metrics.registry], sdkMetricsUrl: `http://${sdkAddress}/metrics` });
  });
  afterAll(async () => {
    await server?.close();
    await h?.stop();
  });

  it('scrapes the SDK runtime metrics and ours from the worker, and the fleet gauges from the API', async () => {
    h.setScenario('never-used', []);
    const delivered = await h.api.submit({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: `enc-${randomUUID()}` } });
    const silentEncounter = `enc-silent-${randomUUID()}`;
    h.setScenario(silentEncounter, []);
    const silent = await h.api.submit({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: silentEncounter } });
    await eventually(async () => ((await h.api.status(delivered.workflowId)).status === 'DELIVERED' ? true : undefined), 60_000, 'DELIVERED');
    await eventually(async () => ((await h.api.status(silent.workflowId)).escalated ? true : undefined), 60_000, 'escalated');

    const worker = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      return samples(text, 'itk3_inbox_lag_seconds').length > 0 && /^temporal_/m.test(text) ? text : undefined;
    }, 30_000, 'worker metrics');
    // The SDK's own metrics (names as exported by Core), then ours.
    expect(worker).toMatch(/^temporal_(workflow_completed|workflow_task_execution_latency|activity_execution_latency|request)/m);
    const executions = samples(worker, 'itk3_activity_executions_total');
    // Deliveries the API starts build and send each attempt in one activity.
    const built = executions.find((s) => s.labels.includes('activity_type="buildAndSendItk3Message"') && s.labels.includes('worker_identity="metrics-test-worker"') && s.labels.includes('outcome="completed"'));
    expect(built?.value).toBeGreaterThanOrEqual(2);
    expect(samples(worker, 'itk3_inbox_lag_seconds')[0]!.value).toBeLessThan(30);
    expect(samples(worker, 'itk3_escalation_notifications_total').find((s) => s.labels.includes('channel="log"') && s.labels.includes('kind="RAISED"'))?.value).toBeGreaterThanOrEqual(1);

    const api = await (await fetch(`${h.apiUrl}/metrics`)).text();
    expect(samples(api, 'itk3_fleet_metrics_up')[0]?.value).toBe(1);
    expect(samples(api, 'itk3_messages').find((s) => s.labels === '{status="DELIVERED"}')?.value).toBeGreaterThanOrEqual(1);
    expect(samples(api, 'itk3_escalations_open')[0]?.value).toBeGreaterThanOrEqual(1);
    expect(samples(api, 'itk3_oldest_wait_seconds')[0]?.value).toBeGreaterThan(0);
    expect(samples(api, 'itk3_quarantine_size')).toHaveLength(1);
    expect(samples(api, 'itk3_messages_open').map((s) => s.labels)).toContain('{status="AWAITING_INFRASTRUCTURE_ACK"}');
  });
});
