/** Pure parts of listing and the CLI: visibility queries, cursors bound to their filters, tables. */
import { ListQuerySchema } from '../../../client/lib/api-schemas';
import { formatList, formatTimeline, table } from '../../../client/cli/cli-commands';
import { InvalidCursor, decodeCursor, encodeCursor, visibilityQuery } from '../../../client/api/delivery-list';
import { buildOpenApi } from '../../../client/api/openapi';
import { OPERATOR_ACTION_BODIES, ErrorBodySchema } from '../../../client/lib/api-schemas';

describe('delivery listing', () => {
  it('turns filters into one visibility query', () => {
    const q = ListQuerySchema.parse({ status: 'AWAITING_BUSINESS_ACK,REJECTED', recipientOds: 'X26', escalated: 'true', submittedFrom: '2026-11-01T00:00:00Z', submittedTo: '2026-11-02T00:00:00+01:00' });
    expect(visibilityQuery(q)).toBe(
      "WorkflowType = 'sendDocumentWorkflow' AND DeliveryStatus IN ('AWAITING_BUSINESS_ACK', 'REJECTED') AND RecipientOds = 'X26' AND Escalated = true AND StartTime >= '2026-11-01T00:00:00.000Z' AND StartTime < '2026-11-01T23:00:00.000Z'",
    );
  });

  it('refuses values that could change the query', () => {
    expect(ListQuerySchema.safeParse({ recipientOds: "X26' OR 1=1" }).success).toBe(false);
    expect(ListQuerySchema.safeParse({ status: 'DELIVERED) OR (1=1' }).success).toBe(false);
    expect(ListQuerySchema.safeParse({ unknownFilter: 'x' }).success).toBe(false);
    expect(ListQuerySchema.safeParse({ submittedFrom: '2026-11-02T00:00:00Z', submittedTo: '2026-11-01T00:00:00Z' }).success).toBe(false);
  });

  it('binds a cursor to the filters it was made for', () => {
    const token = Buffer.from([1, 2, 3, 250]);
    const q1 = "WorkflowType = 'sendDocumentWorkflow' AND RecipientOds = 'X26'";
    const cursor = encodeCursor(q1, token);
    expect(Buffer.from(decodeCursor(q1, cursor))).toEqual(token);
    expect(() => decodeCursor("WorkflowType = 'sendDocumentWorkflow'", cursor)).toThrow(InvalidCursor);
    expect(() => decodeCursor(q1, 'garbage')).toThrow(InvalidCursor);
  });
});

describe('CLI output', () => {
  it('prints aligned tables', () => {
    expect(table(['A', 'LONGER'], [['xx', 'y'], ['z', 'w']])).toBe('A   LONGER\n--  ------\nxx  y\nz   w\n');
    expect(formatList([])).toBe('no deliveries\n');
    expect(formatList([{ workflowId: 'send-document-a-v1', status: 'DELIVERED', escalated: false, recipientOds: 'X26', attemptCount: 1, submittedAt: '2026-11-25T10:00:00.000Z', executionStatus: 'RUNNING', waitingFor: 'NOTHING' }]).split('\n')[2]).toBe(
      'send-document-a-v1  DELIVERED       X26        1         2026-11-25T10:00:00.000Z  NOTHING',
    );
  });
});

describe('OpenAPI generation', () => {
  it('names request and error schemas once under components and references them', () => {
    const doc = buildOpenApi([
      { method: 'POST', url: '/v1/documents/:id/actions/abandon', operationId: 'abandon', summary: 's', role: 'operator', body: OPERATOR_ACTION_BODIES.abandon, responses: { 409: { description: 'd', schema: ErrorBodySchema } } },
    ]) as { paths: Record<string, { post: { requestBody: unknown; responses: Record<string, unknown>; 'x-itk3-role': string } }>; components: { schemas: Record<string, unknown> } };
    const op = doc.paths['/v1/documents/{id}/actions/abandon']!.post;
    expect(op['x-itk3-role']).toBe('operator');
    expect(JSON.stringify(op.requestBody)).toContain('#/components/schemas/AbandonRequest');
    expect(doc.components.schemas).toHaveProperty('AbandonRequest');
    expect(doc.components.schemas).toHaveProperty('Error');
  });
});

describe('CLI timeline', () => {
  it('shows a quarantine reroute with the operator, the reason and the quarantine id, and who sent each response', () => {
    const text = formatTimeline([
      { at: '2026-11-25T10:00:00.000Z', kind: 'OPERATOR', attempt: 1, code: '30001', detail: 'quarantined response 30001 from X26ABC3 (ODS X26) rerouted here from inbound-quarantine-X26ABC1-Q1', actor: 'ops-alice', reason: 'confirmed by phone', quarantineId: 'inbound-quarantine-X26ABC1-Q1' },
      { at: '2026-11-25T10:00:00.000Z', kind: 'RESPONSE', attempt: 1, code: '30001', detail: 'business positive 30001 Patient known here from X26ABC2 (ODS X26)', senderMailbox: 'X26ABC2', senderOds: 'X26' },
    ]);
    expect(text).toContain('[ops-alice; reason: confirmed by phone; inbound-quarantine-X26ABC1-Q1]');
    expect(text).toContain('from X26ABC2 (ODS X26)');
  });
});
