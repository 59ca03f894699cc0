/**
 * The bad-input corpus through the real inbound path: malformed ITK3 Responses and odd MESH
 * messages are put into the courier's mailbox (X26ABC1) on mesh-sandbox, and the real worker's inbox
 * poller, running against the real Temporal dev server, must put every one into the quarantine with the
 * corpus's reason, never crash, and acknowledge each on MESH only after its quarantine entry exists.
 * The last point is checked from outside: the worker reaches MESH through a proxy that, before letting a
 * MESH acknowledgement through, looks the quarantine entry up in Temporal. A message that cannot be
 * downloaded at all (410) is never acknowledged and is reported by the poller instead. Afterwards a real
 * submission still goes through to DELIVERED: the worker is alive and routing.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { QuarantineReasonKey, type SubmissionInput } from '../../../contracts';
import { quarantineWorkflowId } from '../../../contracts/inbound';
import { inboxPollerWorkflowId } from '../../../contracts/ids';
import { inboxPollerStatusQuery } from '../../../workflows/inbox-poller';
import { eventually, startHarness, type Harness } from '../../helpers/courier-harness';
import { testServices } from '../../helpers/services';
import { loadInboundCorpus } from '../../fixtures/bad-input/inbound-corpus';
import { exampleSubmission } from '../../fixtures/bad-input/submissions';
import { startFaultProxy, type FaultProxy } from '../mesh/fault-proxy';
import { admin, meshClient } from '../mesh/helpers';

jest.setTimeout(300_000);

const COURIER = 'X26ABC1';
const ACK_PATH = /^\/messageexchange\/X26ABC1\/inbox\/([^/]+)\/status\/acknowledged$/;

describe('the bad-input corpus through the real inbox poller', () => {
  let h: Harness;
  let proxy: FaultProxy;
  /** MESH message id -> what it is and what it must become. */
  const cases = new Map<string, { name: string; expect: string }>();
  const ackedBeforeDurable: string[] = [];
  const ackedAfterDurable: string[] = [];
  let goneId = '';

  beforeAll(async () => {
    proxy = await startFaultProxy(testServices().meshUrl, [], {
      // The outside check of "nothing acknowledged before it is durably recorded".
      async beforeForward({ method, path }) {
        const m = method === 'PUT' ? ACK_PATH.exec(path) : null;
        if (!m || !(cases.has(m[1]!) || m[1] === goneId)) return;
        try {
          await h.temporal.workflow.getHandle(quarantineWorkflowId(COURIER, m[1]!)).describe();
          ackedAfterDurable.push(m[1]!);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          ackedBeforeDurable.push(m[1]!);
        }
      },
    });
    // No automatic re-correlation: an unmatched entry stays as it was put.
    h = await startHarness({ MESH_URL: proxy.url, MESH_POLL_INTERVAL: '300ms', ITK3_QUARANTINE_REMATCH: '', LOG_LEVEL: 'error' });
  });
  afterAll(async () => {
    await h?.stop();
    await proxy?.close();
  });

  it('puts every malformed message in the quarantine with its reason, acknowledging only after', async () => {
    const practice = meshClient('X26ABC2');
    const corpus = loadInboundCorpus();
    for (const c of corpus.data.filter((d) => d.sandbox)) {
      const sent = await practice.sendMessage({ to: COURIER, workflowId: c.workflowId, body: c.body, fileName: `${c.name}-${randomUUID()}`, localId: 'X26' });
      cases.set(sent.messageId, { name: c.name, expect: c.expect });
    }
    for (const r of corpus.reports) {
      const res = await admin('POST', '/messageexchange/admin/report', {
        mailbox_id: COURIER,
        status: 'error',
        code: r.code,
        description: r.description,
        workflow_id: 'GPCONNECT_SEND_DOCUMENT',
        ...(r.linkedMessageId ? { linked_message_id: r.linkedMessageId } : {}),
      });
      cases.set(((await res.json()) as { message_id: string }).message_id, { name: r.name, expect: r.expect });
    }
    // One that is listed but cannot be downloaded (MESH answers 404 for it until the fault is lifted).
    const gone = await practice.sendMessage({ to: COURIER, workflowId: 'GPCONNECT_SEND_DOCUMENT_ACK', body: 'listed but not downloadable', fileName: `gone-${randomUUID()}`, localId: 'X26' });
    goneId = gone.messageId;
    proxy.rules.push({ method: 'GET', path: new RegExp(`^/messageexchange/${COURIER}/inbox/${goneId}$`), mix: [{ fault: 'not-found', weight: 1 }] });

    const reasons = new Map<string, string>();
    await eventually(
      async () => {
        for (const [id] of cases) {
          if (reasons.has(id)) continue;
          try {
            const d = await h.temporal.workflow.getHandle(quarantineWorkflowId(COURIER, id)).describe();
            const reason = d.typedSearchAttributes.get(QuarantineReasonKey);
            if (reason) reasons.set(id, reason);
          } catch {
            // not yet
          }
        }
        return reasons.size === cases.size ? true : undefined;
      },
      180_000,
      'every corpus message to be quarantined',
    );
    const got = [...cases].map(([id, c]) => ({ name: c.name, reason: reasons.get(id) }));
    expect(got).toEqual([...cases.values()].map((c) => ({ name: c.name, reason: c.expect })));

    // Every one acknowledged on MESH, and every acknowledgement came after its quarantine entry existed.
    await eventually(async () => (ackedAfterDurable.length + ackedBeforeDurable.length >= cases.size ? true : undefined), 60_000, 'every acknowledgement');
    expect(ackedBeforeDurable).toEqual([]);
    expect(new Set(ackedAfterDurable.filter((id) => id !== goneId))).toEqual(new Set(cases.keys()));
  });

  it('leaves a message it cannot download in the inbox, unacknowledged, reports it, and routes it once it can', async () => {
    const poller = h.temporal.workflow.getHandle(inboxPollerWorkflowId(COURIER));
    const status = await eventually(
      async () => {
        const s = await poller.query(inboxPollerStatusQuery);
        return s.failures.some((f) => f.meshMessageId === goneId && f.count >= 2) ? s : undefined;
      },
      60_000,
      'the poller to report the message it cannot download, pass after pass',
    );
    expect(status.failures.find((f) => f.meshMessageId === goneId)!.errorType).toBe('MESH_NOT_FOUND');
    expect(proxy.log.some((e) => e.method === 'PUT' && e.path.includes(goneId))).toBe(false);
    // Lift the fault: the next pass downloads it and quarantines it (its body is no ITK3 Response).
    proxy.rules.pop();
    await eventually(
      async () => {
        const d = await h.temporal.workflow.getHandle(quarantineWorkflowId(COURIER, goneId)).describe().catch(() => undefined);
        return d?.typedSearchAttributes.get(QuarantineReasonKey) === 'MALFORMED' ? d : undefined;
      },
      60_000,
      'the once-failing message to be quarantined',
    );
    await eventually(async () => ((await poller.query(inboxPollerStatusQuery)).failures.some((f) => f.meshMessageId === goneId) ? undefined : true), 60_000, 'the failure to clear');
    await eventually(async () => (ackedAfterDurable.includes(goneId) ? true : undefined), 30_000, 'its acknowledgement');
    expect(ackedBeforeDurable).toEqual([]);
  });

  it('is still alive and routing afterwards: a real submission is DELIVERED', async () => {
    const doc: SubmissionInput = { ...exampleSubmission(), documentId: randomUUID(), encounter: { ...exampleSubmission().encounter, id: `bad-input-after-${randomUUID().slice(0, 8)}` } };
    const { workflowId } = await h.api.submit(doc);
    await eventually(
      async () => {
        const s = await h.api.status(workflowId);
        return s.status === 'DELIVERED' ? s : undefined;
      },
      120_000,
      'the delivery after the bad input',
    );
  });
});
