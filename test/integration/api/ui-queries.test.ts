/**
 * The Web UI query set documented in docs/operations.md: every query in its table is accepted by a real
 * Temporal server (so the names, types and syntax are right), and the headline one finds what it should.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { testServices } from '../../helpers/services';
import { eventually, startHarness } from '../../helpers/courier-harness';
import { operatorQueries } from '../../../scripts/lib/operator-queries';

jest.setTimeout(120_000);

const queries = operatorQueries();

describe('Web UI query set (docs/operations.md)', () => {
  it('documents the headline query and a dozen more', () => {
    expect(queries).toContain("Escalated = true AND RecipientOds = 'X26'");
    expect(queries.length).toBeGreaterThanOrEqual(12);
  });

  it('every documented query is valid on a real server', async () => {
    const s = testServices();
    const connection = await Connection.connect({ address: s.temporalAddress });
    try {
      const client = new Client({ connection, namespace: s.namespace });
      for (const q of queries) {
        await expect(client.workflow.count(q).then(() => 'ok', (e: Error) => `${q}: ${e.message}`)).resolves.toBe('ok');
      }
    } finally {
      await connection.close();
    }
  });

  it('"all escalated for practice X" finds an escalated delivery to that practice', async () => {
    const ods = `Q${Math.floor(Math.random() * 1e6).toString().padStart(6, '0')}`;
    const example = JSON.parse(readFileSync(path.join(__dirname, '../../../examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & { encounter: Record<string, unknown>; recipient: Record<string, unknown> };
    const h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '2s' });
    try {
      const encounterId = `enc-silent-${randomUUID()}`;
      h.setScenario(encounterId, []);
      const { workflowId } = await h.api.submit({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: encounterId }, recipient: { ...example.recipient, odsCode: ods } });
      const found = await eventually(async () => {
        const ids: string[] = [];
        for await (const wf of h.temporal.workflow.list({ query: `Escalated = true AND RecipientOds = '${ods}'` })) ids.push(wf.workflowId);
        return ids.length ? ids : undefined;
      }, 60_000, 'the escalated delivery');
      expect(found).toEqual([workflowId]);
    } finally {
      await h.stop();
    }
  });
});
