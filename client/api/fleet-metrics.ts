/**
 * Fleet gauges for Prometheus, read from Temporal visibility (search attributes, so no payload is
 * decoded and nothing is kept here): messages by delivery status, open escalations, the oldest message
 * still waiting for an acknowledgement, and the inbound quarantine size. Computed on scrape and cached
 * briefly, so several scrapers do not multiply the load on visibility. Served by the API at /metrics.
 */
import type { Client } from '@temporalio/client';
import { Gauge, Registry } from 'prom-client';
import { DeliveryStatusSchema } from '../../contracts';
import { DELIVERY_WORKFLOW_TYPE } from './delivery-list';

export const FLEET_QUERIES = {
  byStatus: (status: string) => `WorkflowType = '${DELIVERY_WORKFLOW_TYPE}' AND DeliveryStatus = '${status}'`,
  openByStatus: (status: string) => `WorkflowType = '${DELIVERY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND DeliveryStatus = '${status}'`,
  escalationsOpen: `WorkflowType = '${DELIVERY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND Escalated = true`,
  waitingForAck: `WorkflowType = '${DELIVERY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND WaitingFor IN ('INFRASTRUCTURE_ACK', 'BUSINESS_ACK')`,
  quarantineOpen: `QuarantineStatus = 'OPEN' AND ExecutionStatus = 'Running'`,
} as const;

export interface FleetMetrics {
  registry: Registry;
  metrics(): Promise<string>;
}

export function createFleetMetrics(client: Client, opts: { cacheMs?: number; maxScan?: number; now?: () => number } = {}): FleetMetrics {
  const cacheMs = opts.cacheMs ?? 10_000;
  const maxScan = opts.maxScan ?? 20_000;
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  const messages = new Gauge({ name: 'itk3_messages', help: 'Deliveries within retention by delivery status', labelNames: ['status'] as const, registers: [registry] });
  const open = new Gauge({ name: 'itk3_messages_open', help: 'Running deliveries by delivery status', labelNames: ['status'] as const, registers: [registry] });
  const escalations = new Gauge({ name: 'itk3_escalations_open', help: 'Running deliveries with an open escalation', registers: [registry] });
  const oldest = new Gauge({ name: 'itk3_oldest_wait_seconds', help: 'Age of the oldest running delivery waiting for an ITK3 acknowledgement (0 when none)', registers: [registry] });
  const waiting = new Gauge({ name: 'itk3_messages_waiting_for_ack', help: 'Running deliveries waiting for an ITK3 acknowledgement', registers: [registry] });
  const quarantine = new Gauge({ name: 'itk3_quarantine_size', help: 'Inbound messages held in quarantine (open entries)', registers: [registry] });
  const scrapeOk = new Gauge({ name: 'itk3_fleet_metrics_up', help: '1 when the last visibility read succeeded', registers: [registry] });

  const count = async (query: string): Promise<number> => (await client.workflow.count(query)).count;
  let refreshedAt = 0;
  let inFlight: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    try {
      await Promise.all(
        DeliveryStatusSchema.options.map(async (s) => {
          messages.set({ status: s }, await count(FLEET_QUERIES.byStatus(s)));
          open.set({ status: s }, await count(FLEET_QUERIES.openByStatus(s)));
        }),
      );
      escalations.set(await count(FLEET_QUERIES.escalationsOpen));
      quarantine.set(await count(FLEET_QUERIES.quarantineOpen));
      // SQL visibility cannot order by start time ascending, so scan (bounded) for the oldest.
      let oldestStart: number | undefined;
      let n = 0;
      for await (const wf of client.workflow.list({ query: FLEET_QUERIES.waitingForAck, pageSize: 1000 })) {
        const t = wf.startTime.getTime();
        if (oldestStart === undefined || t < oldestStart) oldestStart = t;
        if (++n >= maxScan) break;
      }
      waiting.set(n);
      oldest.set(oldestStart === undefined ? 0 : Math.max(0, (now() - oldestStart) / 1000));
      scrapeOk.set(1);
    } catch {
      scrapeOk.set(0);
    }
    refreshedAt = now();
  }

  return {
    registry,
    async metrics() {
      if (now() - refreshedAt >= cacheMs) {
        inFlight ??= refresh().finally(() => (inFlight = undefined));
        await inFlight;
      }
      return registry.metrics();
    },
  };
}
