/**
 * The Web UI texts of the consultation, quarantine and inbox-poller workflows (workflows/metadata.ts):
 * the action offered fits the state, and nothing but ids, ODS codes, codes and times goes in.
 */
import { DEFAULT_CONSULTATION_SETTINGS, type ConsultationView } from '../../../contracts/consultation';
import type { QuarantineEntry } from '../../../contracts/inbound';
import {
  consultationDetails,
  consultationStaticDetails,
  consultationStaticSummary,
  inboxPollerDetails,
  inboxPollerStaticDetails,
  quarantineDetails,
  quarantineStaticDetails,
  quarantineStaticSummary,
} from '../../../workflows/metadata';

const T = Date.parse('2026-11-25T12:00:00.000Z');
const view = (over: Partial<ConsultationView> = {}): ConsultationView => ({
  workflowId: 'consultation-X27-cons-1',
  senderOds: 'X27',
  consultationId: 'cons-1',
  status: 'AWAITING_CONTENT',
  registeredHere: false,
  deleted: false,
  lastEventAt: '2026-11-25T09:00:00.000Z',
  versions: [],
  escalations: [],
  timeline: [],
  settings: { ...DEFAULT_CONSULTATION_SETTINGS },
  run: 1,
  ...over,
});
const pending = { contentRef: { key: 'consultation-content/x', sha256: 'a'.repeat(64), size: 1 }, eventId: 'ev-7', recipientOds: 'X26', deadlines: { infrastructureAckMs: 1, businessAckMs: 1, reminderIntervalMs: 1, replacementWindowMs: 1, decisionWindowMs: 1 }, savedAt: '2026-11-25T09:00:00.000Z' };
const version = { documentId: '00000000-0000-4000-a000-000000000001', version: 1, workflowId: 'send-document-00000000-0000-4000-a000-000000000001-v1', contentRef: pending.contentRef, contentEventId: 'ev-1', recipientOds: 'X26', startedAt: '2026-11-25T08:00:00.000Z', voided: false, lateReplacement: false };

describe('consultation details', () => {
  it('waiting to send: says until when, and offers finalise by CLI, API and signal', () => {
    const d = consultationDetails(view({ status: 'WAITING_TO_SEND', pending, sendDueAt: '2026-11-25T12:00:00.000Z' }), { for: 'sendWindow', until: T });
    expect(d).toContain('### Consultation `cons-1`: X27 → X26');
    expect(d).toContain('the send window to end, until **2026-11-25T12:00:00.000Z**; then the content saved by event `ev-7` is sent to practice X26');
    expect(d).toContain('`itk3 consultation finalise X27 cons-1`');
    expect(d).toContain('`POST /v1/consultations/X27/cons-1/events` `{"type": "finalised"}`');
    expect(d).toContain('signal `consultationEvent` `{"type": "finalised", "eventId": "<new id>"');
  });

  it('delivering: names the delivery to follow, and no finalise', () => {
    const d = consultationDetails(view({ status: 'DELIVERING', versions: [version] }), { for: 'deliveryOutcome' });
    expect(d).toContain(`the outcome of delivery \`${version.workflowId}\``);
    expect(d).toContain(`itk3 status ${version.workflowId}`);
    expect(d).not.toContain('finalise');
  });

  it('suppressed: offers lifting the registration', () => {
    const d = consultationDetails(view({ status: 'SUPPRESSED', registeredHere: true, pending }), { for: 'retirement', until: T });
    expect(d).toContain('itk3 consultation registered-here X27 cons-1 --not');
    expect(d).toContain('"registeredHere": false');
  });

  it('deleted after a report: shows the escalation and offers nothing to send', () => {
    const d = consultationDetails(
      view({ status: 'DELETED', deleted: true, versions: [{ ...version, outcome: 'DELIVERED', finalCode: '30001' }], escalations: [{ escalationId: 'consultation-X27-cons-1:deleted-after-report', at: '2026-11-25T10:00:00.000Z', reason: 'r' }] }),
      { for: 'nothing', doing: 'deleted: closed' },
    );
    expect(d).toContain('v1 DELIVERED 30001');
    expect(d).toContain('`consultation-X27-cons-1:deleted-after-report`');
    expect(d).toContain('Nothing to send any more');
    expect(d).not.toContain('itk3 consultation');
  });

  it('static summary and details name the consultation and where its events go', () => {
    expect(consultationStaticSummary({ senderOds: 'X27', consultationId: 'cons-1' })).toBe('Consultation cons-1 from X27');
    expect(consultationStaticDetails({ senderOds: 'X27', consultationId: 'cons-1' })).toContain('POST /v1/consultations/X27/cons-1/events');
  });
});

describe('quarantine details', () => {
  const entry: QuarantineEntry = {
    quarantineId: 'inbound-quarantine-X26ABC1-ABC',
    mailboxId: 'X26ABC1',
    meshMessageId: 'ABC',
    messageType: 'DATA',
    meshWorkflowId: 'GPCONNECT_SEND_DOCUMENT_ACK',
    reason: 'UNMATCHED_RESPONSE',
    detail: 'response.identifier and SenderReference match no delivery',
    contentRef: { key: 'inbound-message/x', sha256: 'a'.repeat(64), size: 1 },
    receivedAt: '2026-11-25T09:00:00.000Z',
    summary: { code: '20013' },
    candidates: [],
    status: 'OPEN',
    rematchAttempts: 0,
  };

  it('open: the reason code and both operator actions, with a placeholder target when there is no candidate', () => {
    const d = quarantineDetails(entry);
    expect(d).toContain('**Reason:** UNMATCHED_RESPONSE · code 20013');
    expect(d).toContain('itk3 quarantine reroute inbound-quarantine-X26ABC1-ABC --to <delivery workflow id> --reason "<why>"');
    expect(d).toContain('POST /v1/quarantine/inbound-quarantine-X26ABC1-ABC/resolve');
    expect(d).toContain('update `resolveQuarantine` `{"actor": "<you>", "reason": "<why>"}`');
  });

  it('waiting to rematch says which attempt and when', () => {
    expect(quarantineDetails(entry, { rematch: 2, of: 3, until: T })).toContain('rematch attempt 2 of 3 at **2026-11-25T12:00:00.000Z**');
  });

  it('closed: who closed it and where it went, and no actions', () => {
    const d = quarantineDetails({ ...entry, status: 'REROUTED', resolution: { actor: 'ops.jane', reason: 'r', at: '2026-11-25T10:00:00.000Z', targetWorkflowId: 'send-document-b-v1' } });
    expect(d).toContain('**Closed:** REROUTED by ops.jane at 2026-11-25T10:00:00.000Z → `send-document-b-v1`');
    expect(d).not.toContain('Operator actions now');
  });

  it('static texts name the message, mailbox and reason', () => {
    expect(quarantineStaticSummary(entry)).toBe('Quarantined MESH message ABC in X26ABC1: UNMATCHED_RESPONSE');
    expect(quarantineStaticDetails(entry)).toContain('itk3 quarantine show inbound-quarantine-X26ABC1-ABC');
  });
});

describe('inbox poller details', () => {
  it('mailbox, last pass, next poll, totals, failing passes and messages', () => {
    const d = inboxPollerDetails({
      mailboxId: 'X26ABC1',
      run: 3,
      lastPollAt: '2026-11-25T09:00:00.000Z',
      nextPollAt: '2026-11-25T09:05:00.000Z',
      totals: { passes: 10, listed: 7, routed: 5, reports: 1, quarantined: 1, duplicates: 0, failed: 1 },
      failures: [{ meshMessageId: 'MSG1', errorType: 'MESH_GONE', count: 3, reported: true }],
      passError: { errorType: 'MESH_AUTH_FAILED', count: 2, since: '2026-11-25T08:50:00.000Z', reported: false },
    });
    expect(d).toContain('### MESH inbox `X26ABC1` (run 3)');
    expect(d).toContain('**Last pass:** 2026-11-25T09:00:00.000Z · **next poll:** 2026-11-25T09:05:00.000Z');
    expect(d).toContain('**Totals:** 10 passes · 7 listed · 5 routed · 1 reports · 1 quarantined · 0 duplicates · 1 failed');
    expect(d).toContain('**Passes failing:** MESH_AUTH_FAILED × 2 since 2026-11-25T08:50:00.000Z');
    expect(d).toContain('- `MSG1` MESH_GONE × 3 (raised)');
    expect(inboxPollerStaticDetails('X26ABC1', 300_000)).toContain('every 300 s');
  });
});
