/**
 * The consultation lifecycle on the time-skipping test server: the real consultation workflow,
 * a stub delivery registered under the delivery workflow's type name (consultation-stub-workflows.ts),
 * and typed activity fakes that record every call. Events arrive by signal-with-start, as from the API.
 * No content store and no patient data: saved content is only a ContentRef.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { ContentRef, DeliveryDeadlines, EscalationInput, SendDocumentInput } from '../../contracts';
import { deliveryWorkflowId } from '../../contracts/ids';
import { ALL_SEARCH_ATTRIBUTES, ConsultationStatusKey, SendDueAtKey } from '../../contracts/search-attributes';
import {
  DEFAULT_CONSULTATION_SETTINGS,
  consultationWorkflowId,
  type ConsultationEvent,
  type ConsultationSettings,
  type ConsultationView,
  type ConsultationWorkflowInput,
  type PrepareConsultationSubmissionInput,
} from '../../contracts/consultation';
import { consultationEventSignal, consultationViewQuery } from '../../workflows/consultation-definitions';
import { consultationWorkflow, type StubDeliveryActivities, type StubDeliveryPlan } from './consultation-stub-workflows';
import { PATIENT_VALUES, currentDetails, historySummaries } from '../helpers/ui-metadata';

jest.setTimeout(120_000);

const REPO_ROOT = path.resolve(__dirname, '../..');
const TEST_SERVER = path.join(REPO_ROOT, '.venv/bin/temporal-test-server');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DEADLINES: DeliveryDeadlines = {
  infrastructureAckMs: 4 * HOUR,
  businessAckMs: 48 * HOUR,
  reminderIntervalMs: 24 * HOUR,
  replacementWindowMs: 24 * HOUR,
  decisionWindowMs: 7 * 24 * HOUR,
};
const SENDER = 'X27';
const PRACTICE = 'X26';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier test file in this jest worker
  }
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  // The test server rejects upserts of unknown search attributes, as the real server does.
  const T = temporal.api.enums.v1.IndexedValueType;
  const types: Record<string, temporal.api.enums.v1.IndexedValueType> = {
    KEYWORD: T.INDEXED_VALUE_TYPE_KEYWORD,
    KEYWORD_LIST: T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    BOOL: T.INDEXED_VALUE_TYPE_BOOL,
    INT: T.INDEXED_VALUE_TYPE_INT,
    DATETIME: T.INDEXED_VALUE_TYPE_DATETIME,
    TEXT: T.INDEXED_VALUE_TYPE_TEXT,
    DOUBLE: T.INDEXED_VALUE_TYPE_DOUBLE,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, types[k.type]!])),
  });
  workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./consultation-stub-workflows'), logger: new DefaultLogger('WARN') });
});

afterAll(async () => {
  await env?.teardown();
});

/** A claim check to saved content number n (no content exists: nothing here reads it). */
function contentRef(n: number): ContentRef {
  return { key: `consultation-content/00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, sha256: n.toString(16).padStart(64, '0'), size: 1000 + n };
}
const contentNumberOf = (key: string): number => Number(key.slice(-12));

type Fakes = Pick<Activities, 'prepareConsultationSubmission' | 'raiseEscalation'> & StubDeliveryActivities;
interface Recorded {
  prepared: PrepareConsultationSubmissionInput[];
  deliveries: Array<{ workflowId: string; input: SendDocumentInput }>;
  escalations: EscalationInput[];
}
type PlanFn = (delivery: { workflowId: string; input: SendDocumentInput }, n: number) => StubDeliveryPlan;
const delivered: PlanFn = () => ({ result: { status: 'DELIVERED', attempts: 1, finalCode: '30001' }, durationMs: 0 });

interface Consultation {
  workflowId: string;
  handle: WorkflowHandle<typeof consultationWorkflow>;
  recorded: Recorded;
  /** Content number n saved now. */
  save(n: number, opts?: { eventId?: string; recipientOds?: string }): Promise<string>;
  finalise(): Promise<void>;
  remove(): Promise<void>;
  registeredHere(value: boolean): Promise<void>;
  signal(event: ConsultationEvent): Promise<void>;
  view(): Promise<ConsultationView>;
  until<T>(probe: (v: ConsultationView) => T | undefined | false, what: string): Promise<T>;
}

async function withConsultation(
  opts: { plan?: PlanFn; invalidContent?: number[]; settings?: Partial<ConsultationSettings>; historyEventLimit?: number; carryOver?: ConsultationWorkflowInput['carryOver']; consultationId?: string },
  body: (c: Consultation) => Promise<void>,
): Promise<void> {
  const taskQueue = `consultation-test-${randomUUID()}`;
  const consultationId = opts.consultationId ?? `cons-${randomUUID()}`;
  const workflowId = consultationWorkflowId(SENDER, consultationId);
  const recorded: Recorded = { prepared: [], deliveries: [], escalations: [] };
  const plan = opts.plan ?? delivered;
  const activities: Fakes = {
    async prepareConsultationSubmission(input) {
      recorded.prepared.push(input);
      if (opts.invalidContent?.includes(contentNumberOf(input.contentRef.key))) {
        return { valid: false, issues: [{ path: 'patient.nhsNumber', message: 'NHS number fails the modulus 11 check' }] };
      }
      // The submission of a version is named after the content it was built from, so tests can see which.
      return { valid: true, submissionRef: { ...input.contentRef, key: `submission/${input.contentRef.key.split('/')[1]}` }, recipientOds: PRACTICE };
    },
    async raiseEscalation(input) {
      recorded.escalations.push(input);
    },
    async planStubDelivery(delivery) {
      recorded.deliveries.push(delivery);
      return plan(delivery, recorded.deliveries.length);
    },
  };
  const input: ConsultationWorkflowInput = {
    senderOds: SENDER,
    consultationId,
    settings: { ...DEFAULT_CONSULTATION_SETTINGS, ...opts.settings },
    ...(opts.historyEventLimit ? { historyEventLimit: opts.historyEventLimit } : {}),
    ...(opts.carryOver ? { carryOver: opts.carryOver } : {}),
  };
  let events = 0;
  const signal = async (event: ConsultationEvent): Promise<void> => {
    await env.client.workflow.signalWithStart(consultationWorkflow, { workflowId, taskQueue, args: [input], signal: consultationEventSignal, signalArgs: [event] });
  };
  const base = (): { eventId: string; occurredAt: string } => ({ eventId: `ev-${++events}`, occurredAt: new Date().toISOString() });
  const handle = env.client.workflow.getHandle<typeof consultationWorkflow>(workflowId);
  const c: Consultation = {
    workflowId,
    handle,
    recorded,
    async save(n, o = {}) {
      const b = base();
      const eventId = o.eventId ?? b.eventId;
      await signal({ ...b, eventId, type: 'saved', contentRef: contentRef(n), recipientOds: o.recipientOds ?? PRACTICE, deadlines: DEADLINES });
      return eventId;
    },
    finalise: () => signal({ ...base(), type: 'finalised' }),
    remove: () => signal({ ...base(), type: 'deleted' }),
    registeredHere: (value) => signal({ ...base(), type: 'registeredHere', registeredHere: value }),
    signal,
    view: () => handle.query(consultationViewQuery),
    async until(probe, what) {
      const deadline = Date.now() + 20_000;
      let last: ConsultationView | undefined;
      while (Date.now() < deadline) {
        last = await handle.query(consultationViewQuery);
        const v = probe(last);
        if (v !== undefined && v !== false) return v;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}; view: ${JSON.stringify({ status: last?.status, versions: last?.versions, timeline: last?.timeline.slice(-8) })}`);
    },
  };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  await worker.runUntil(async () => {
    try {
      await body(c);
    } finally {
      // A workflow left running without a worker would stop the test server's clock for every later test
      // (its next timer schedules a task nobody takes), so end what this test started.
      for (const id of [workflowId, ...recorded.deliveries.map((d) => d.workflowId)]) {
        await env.client.workflow.getHandle(id).terminate('test finished').catch(() => undefined);
      }
    }
  });
}


const settled = (v: ConsultationView): boolean => v.versions.length > 0 && v.versions.every((x) => x.outcome !== undefined);

describe('consultation workflow', () => {
  it('sends once, with the last content, after a burst of saves inside the window', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1);
      await env.sleep(40 * MINUTE);
      await c.save(2);
      await env.sleep(40 * MINUTE);
      await c.save(3);
      const waiting = await c.until((v) => v.pending?.contentRef.key === contentRef(3).key && v, 'the third save');
      expect(waiting.status).toBe('WAITING_TO_SEND');
      // Each save restarted the window: due 3 h after the last one.
      expect(Date.parse(waiting.sendDueAt!) - Date.parse(waiting.lastSavedAt!)).toBe(3 * HOUR);
      const described = await c.handle.describe();
      expect(described.typedSearchAttributes.get(ConsultationStatusKey)).toBe('WAITING_TO_SEND');
      expect(described.typedSearchAttributes.get(SendDueAtKey)?.toISOString()).toBe(waiting.sendDueAt);

      await env.sleep(2 * HOUR + 50 * MINUTE);
      expect(c.recorded.deliveries).toHaveLength(0); // 2 h 50 min after the last save: still inside its window
      await env.sleep(15 * MINUTE);
      const sent = await c.until((v) => settled(v) && v, 'the delivery');

      expect(c.recorded.deliveries).toHaveLength(1);
      const [d] = c.recorded.deliveries;
      expect(d!.input.version).toBe(1);
      expect(d!.input.replaces).toBeUndefined();
      expect(contentNumberOf(d!.input.submissionRef.key)).toBe(3);
      expect(d!.workflowId).toBe(deliveryWorkflowId(d!.input.documentId, 1));
      expect(c.recorded.prepared).toHaveLength(1);
      expect(c.recorded.prepared[0]).toMatchObject({ contentRef: contentRef(3), documentId: d!.input.documentId, version: 1 });
      expect(sent.versions).toEqual([expect.objectContaining({ documentId: d!.input.documentId, version: 1, outcome: 'DELIVERED', finalCode: '30001', contentEventId: 'ev-3', voided: false })]);
      expect(sent.status).toBe('SENT');
      expect(sent.pending).toBeUndefined();
      expect((await c.handle.describe()).typedSearchAttributes.get(SendDueAtKey)).toBeUndefined();
      expect(c.recorded.escalations).toHaveLength(0);
    });
  });

  it('applies an event once, however often a client retries it', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1, { eventId: 'save-1' });
      const first = await c.until((v) => v.sendDueAt, 'the save');
      await env.sleep(HOUR);
      await c.save(1, { eventId: 'save-1' }); // the same event again: the window is not restarted
      await c.finalise();
      await c.until((v) => v.timeline.some((t) => t.detail.startsWith('finalised')) && v, 'the finalise');
      const v = await c.until((x) => settled(x) && x, 'the delivery');
      expect(v.timeline.filter((t) => t.kind === 'EVENT' && t.eventId === 'save-1')).toHaveLength(1);
      expect(first).toBeTruthy();
    });
  });

  it('produces version 2 as a replacement of version 1 for a save after sending', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1);
      await env.sleep(3 * HOUR + MINUTE);
      const first = await c.until((v) => settled(v) && v, 'version 1');
      const documentId = first.versions[0]!.documentId;

      await env.sleep(2 * HOUR);
      await c.save(2);
      await c.until((v) => v.status === 'WAITING_TO_SEND' && v, 'the edit to wait');
      await env.sleep(3 * HOUR + MINUTE);
      const second = await c.until((v) => v.versions.length === 2 && settled(v) && v, 'version 2');

      const v2 = c.recorded.deliveries[1]!;
      expect(v2.workflowId).toBe(deliveryWorkflowId(documentId, 2));
      expect(v2.input).toMatchObject({ documentId, version: 2, replaces: { documentId, version: 1, workflowId: deliveryWorkflowId(documentId, 1) }, recipientOds: PRACTICE });
      expect(contentNumberOf(v2.input.submissionRef.key)).toBe(2);
      // The consultation makes the replacements, so a delivery need not stay open for `replace`.
      expect(v2.input.deadlines).toEqual({ ...DEADLINES, replacementWindowMs: 0 });
      expect(c.recorded.prepared[1]).toMatchObject({ documentId, version: 2, replaces: { documentId, version: 1 } });
      expect(second.versions.map((x) => [x.version, x.outcome, x.replaces?.version, x.lateReplacement])).toEqual([
        [1, 'DELIVERED', undefined, false],
        [2, 'DELIVERED', 1, false],
      ]);
      expect(second.status).toBe('SENT');
      expect(c.recorded.escalations).toHaveLength(0);
    });
  });

  it('sends at once on finalise, skipping the rest of the window', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1);
      await env.sleep(10 * MINUTE);
      await c.save(2);
      await c.finalise();
      const v = await c.until((x) => settled(x) && x, 'the delivery');
      expect(c.recorded.deliveries).toHaveLength(1);
      expect(contentNumberOf(c.recorded.deliveries[0]!.input.submissionRef.key)).toBe(2);
      // Sent on workflow time right after the finalise: far less than the 3 h window.
      expect(Date.parse(v.versions[0]!.startedAt) - Date.parse(v.lastSavedAt!)).toBeLessThan(MINUTE);
    });
  });

  it('ignores a finalise when nothing waits to be sent', async () => {
    await withConsultation({}, async (c) => {
      await c.finalise();
      const v = await c.until((x) => x.timeline.some((t) => t.kind === 'IGNORED') && x, 'the finalise');
      expect(v.status).toBe('AWAITING_CONTENT');
      expect(c.recorded.deliveries).toHaveLength(0);
    });
  });

  it('sends nothing and ends DELETED, with no escalation, when deleted before sending', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1);
      await env.sleep(HOUR);
      await c.remove();
      const result = await c.handle.result();
      expect(result.status).toBe('DELETED');
      expect(result.versions).toEqual([]);
      expect(result.pending).toBeUndefined();
      expect(c.recorded.deliveries).toHaveLength(0);
      expect(c.recorded.prepared).toHaveLength(0);
      expect(c.recorded.escalations).toHaveLength(0);
    });
  });

  it('raises an escalation naming what an operator must do when deleted after it was reported', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1);
      await env.sleep(3 * HOUR + MINUTE);
      const sent = await c.until((v) => settled(v) && v, 'version 1');
      await c.remove();
      const result = await c.handle.result();
      expect(result.status).toBe('DELETED');

      const { documentId, workflowId } = sent.versions[0]!;
      expect(c.recorded.escalations).toHaveLength(1);
      const e = c.recorded.escalations[0]!;
      expect(e).toMatchObject({ kind: 'RAISED', workflowId: c.workflowId, documentId, escalationId: `${c.workflowId}:deleted-after-report` });
      expect(e.reason).toContain('GPCM-SD-CS-077');
      expect(e.reason).toContain('warn the user who deleted it');
      expect(e.reason).toContain(`practice ${PRACTICE}`);
      expect(e.reason).toContain(workflowId);
      // Ids only: the operator is told where to read the patient details, not given them. (Random UUIDs
      // are taken out first: their last group is all digits now and then, which is not an NHS number.)
      expect(e.reason.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')).not.toMatch(/\d{10}/);
      expect(result.escalations).toEqual([expect.objectContaining({ escalationId: e.escalationId, documentId, version: 1 })]);

      // Events after deletion change nothing; the closed consultation is refused by the API (REJECT_DUPLICATE).
      expect(c.recorded.deliveries).toHaveLength(1);
    });
  });

  it('escalates on deletion while a delivery is in flight and ends once its outcome is known', async () => {
    const plan: PlanFn = () => ({ result: { status: 'DELIVERED', attempts: 1, finalCode: '30001' }, durationMs: 2 * HOUR });
    await withConsultation({ plan }, async (c) => {
      await c.save(1);
      await env.sleep(3 * HOUR + MINUTE);
      await c.until((v) => v.status === 'DELIVERING' && v, 'the delivery to start');
      await c.remove();
      await c.until((v) => v.escalations.length === 1 && v, 'the escalation');
      expect(c.recorded.escalations[0]!.reason).toContain('in flight');
      await c.save(2); // ignored: the consultation is deleted
      const result = await c.handle.result();
      expect(result.status).toBe('DELETED');
      expect(result.versions).toEqual([expect.objectContaining({ version: 1, outcome: 'DELIVERED' })]);
      expect(result.timeline.some((t) => t.kind === 'IGNORED' && t.detail.startsWith('saved'))).toBe(true);
      expect(c.recorded.deliveries).toHaveLength(1);
    });
  });

  it('sends nothing while the patient is registered at the sending organisation, and resumes when that ends', async () => {
    await withConsultation({}, async (c) => {
      await c.registeredHere(true);
      await c.save(1);
      const suppressed = await c.until((v) => v.pending && v, 'the save');
      expect(suppressed.status).toBe('SUPPRESSED');
      await env.sleep(5 * HOUR);
      await c.save(2);
      await c.finalise();
      await env.sleep(HOUR);
      const still = await c.view();
      expect(still.status).toBe('SUPPRESSED');
      expect(c.recorded.deliveries).toHaveLength(0);
      expect(c.recorded.prepared).toHaveLength(0);
      const described = await c.handle.describe();
      expect(described.typedSearchAttributes.get(ConsultationStatusKey)).toBe('SUPPRESSED');
      expect(described.typedSearchAttributes.get(SendDueAtKey)).toBeUndefined();

      await c.registeredHere(false); // the window of the last save has passed: send now
      const v = await c.until((x) => settled(x) && x, 'the delivery');
      expect(contentNumberOf(c.recorded.deliveries[0]!.input.submissionRef.key)).toBe(2);
      expect(v.status).toBe('SENT');
    });
  });

  it('voids both versions when a replacement is rejected with 20014, escalates, and sends the next save as a new document', async () => {
    const plan: PlanFn = (_d, n) =>
      n === 2 ? { result: { status: 'VOIDED', attempts: 1, finalCode: '20014' }, durationMs: 0 } : { result: { status: 'DELIVERED', attempts: 1, finalCode: '30001' }, durationMs: 0 };
    await withConsultation({ plan }, async (c) => {
      await c.save(1);
      await c.finalise();
      const first = await c.until((v) => settled(v) && v, 'version 1');
      const documentId = first.versions[0]!.documentId;
      await c.save(2);
      await c.finalise();
      const voided = await c.until((v) => v.versions.length === 2 && settled(v) && v, 'version 2');

      expect(voided.versions.map((x) => [x.version, x.outcome, x.voided])).toEqual([
        [1, 'DELIVERED', true],
        [2, 'VOIDED', true],
      ]);
      expect(voided.status).toBe('NOT_DELIVERED');
      expect(c.recorded.escalations).toHaveLength(1);
      expect(c.recorded.escalations[0]).toMatchObject({ documentId, code: '20014', escalationId: `${c.workflowId}:voided-${documentId}-v2` });
      expect(c.recorded.escalations[0]!.reason).toContain('marked v1 and v2 void');

      // Nothing of this consultation is on the practice record now: the next save is a new original.
      await c.save(3);
      await c.finalise();
      const next = await c.until((v) => v.versions.length === 3 && settled(v) && v, 'the new document');
      const v3 = next.versions[2]!;
      expect(v3.documentId).not.toBe(documentId);
      expect(v3.version).toBe(1);
      expect(v3.replaces).toBeUndefined();
      expect(c.recorded.deliveries[2]!.input.replaces).toBeUndefined();
      expect(next.status).toBe('SENT');
    });
  });

  it('treats a replacement that ends REJECTED with 20014 the same way', async () => {
    const plan: PlanFn = (_d, n) =>
      n === 2 ? { result: { status: 'REJECTED', attempts: 1, finalCode: '20014' }, durationMs: 0 } : { result: { status: 'DELIVERED', attempts: 1, finalCode: '30001' }, durationMs: 0 };
    await withConsultation({ plan }, async (c) => {
      await c.save(1);
      await c.finalise();
      await c.until((v) => settled(v) && v, 'version 1');
      await c.save(2);
      await c.finalise();
      const v = await c.until((x) => x.versions.length === 2 && settled(x) && x, 'version 2');
      expect(v.versions.map((x) => x.voided)).toEqual([true, true]);
    });
  });

  it('waits for the outcome of the delivery in flight before sending a replacement', async () => {
    const plan: PlanFn = (_d, n) => ({ result: { status: 'DELIVERED', attempts: 1, finalCode: '30001' }, durationMs: n === 1 ? 6 * HOUR : 0 });
    await withConsultation({ plan }, async (c) => {
      await c.save(1);
      await c.finalise();
      await c.until((v) => v.status === 'DELIVERING' && v, 'version 1 in flight');
      await env.sleep(HOUR);
      await c.save(2);
      await env.sleep(3 * HOUR + MINUTE);
      const waiting = await c.until((v) => v.status === 'WAITING_FOR_OUTCOME' && v, 'the replacement to wait');
      expect(c.recorded.deliveries).toHaveLength(1);
      expect(Date.parse(waiting.sendDueAt!)).toBeLessThan(Date.parse(waiting.versions[0]!.startedAt) + 6 * HOUR);

      await env.sleep(2 * HOUR + MINUTE);
      const done = await c.until((v) => v.versions.length === 2 && settled(v) && v, 'version 2');
      expect(done.versions[1]).toMatchObject({ version: 2, replaces: { documentId: done.versions[0]!.documentId, version: 1 } });
      // Started right after version 1's outcome, not a window later.
      expect(Date.parse(done.versions[1]!.startedAt) - Date.parse(done.versions[0]!.endedAt!)).toBeLessThan(MINUTE);
    });
  });

  it('after a rejected original, sends the next save as a new document; after a rejected replacement, replaces the filed version again', async () => {
    const outcomes: Array<'DELIVERED' | 'REJECTED'> = ['REJECTED', 'DELIVERED', 'REJECTED', 'DELIVERED'];
    const plan: PlanFn = (_d, n) => ({ result: { status: outcomes[n - 1]!, attempts: 1, finalCode: outcomes[n - 1] === 'DELIVERED' ? '30001' : '30002' }, durationMs: 0 });
    await withConsultation({ plan }, async (c) => {
      for (let n = 1; n <= 4; n++) {
        await c.save(n);
        await c.finalise();
        await c.until((v) => v.versions.length === n && settled(v) && v, `delivery ${n}`);
      }
      const v = await c.view();
      const [a, b, r, d] = v.versions;
      expect([a!.version, a!.outcome]).toEqual([1, 'REJECTED']);
      expect(b!.documentId).not.toBe(a!.documentId); // nothing was filed: a new original
      expect([b!.version, b!.replaces]).toEqual([1, undefined]);
      expect([r!.documentId, r!.version, r!.replaces?.version, r!.outcome]).toEqual([b!.documentId, 2, 1, 'REJECTED']);
      // The practice still holds b v1, so the next replacement replaces it again, as version 2.
      expect([d!.documentId, d!.version, d!.replaces?.version, d!.outcome]).toEqual([b!.documentId, 2, 1, 'DELIVERED']);
      expect(v.status).toBe('SENT');
    });
  });

  it('sends a replacement later than 24 hours after the original with a warning', async () => {
    await withConsultation({}, async (c) => {
      await c.save(1);
      await c.finalise();
      const first = await c.until((v) => settled(v) && v, 'version 1');
      await env.sleep(23 * HOUR);
      await c.save(2); // inside 24 h, but its window ends after them
      await env.sleep(3 * HOUR + MINUTE);
      const v = await c.until((x) => x.versions.length === 2 && settled(x) && x, 'version 2');
      expect(v.versions[1]).toMatchObject({ version: 2, lateReplacement: true, outcome: 'DELIVERED' });
      const documentId = first.versions[0]!.documentId;
      expect(c.recorded.escalations).toEqual([expect.objectContaining({ escalationId: `${c.workflowId}:late-replacement-${documentId}-v2`, documentId })]);
      expect(c.recorded.escalations[0]!.reason).toContain('GPCM-SD-037');
    });
  });

  it('escalates saved content that cannot be sent, and sends the next save as usual', async () => {
    await withConsultation({ invalidContent: [1] }, async (c) => {
      const eventId = await c.save(1);
      await c.finalise();
      const v = await c.until((x) => x.escalations.length === 1 && x, 'the escalation');
      expect(v.status).toBe('NOT_DELIVERED');
      expect(v.pending).toBeUndefined();
      expect(v.timeline.find((t) => t.kind === 'CONTENT_INVALID')).toMatchObject({ eventId, detail: 'patient.nhsNumber: NHS number fails the modulus 11 check' });
      expect(c.recorded.escalations[0]).toMatchObject({ escalationId: `${c.workflowId}:content-invalid-${eventId}` });
      expect(c.recorded.deliveries).toHaveLength(0);

      await c.save(2);
      await c.finalise();
      const sent = await c.until((x) => settled(x) && x, 'the delivery');
      expect(sent.versions).toEqual([expect.objectContaining({ version: 1, outcome: 'DELIVERED' })]);
      expect(sent.status).toBe('SENT');
    });
  });

  it('continues as new with nothing lost', async () => {
    await withConsultation({ historyEventLimit: 40 }, async (c) => {
      await c.save(1);
      await c.finalise();
      const first = await c.until((v) => settled(v) && v, 'version 1');
      for (let n = 2; n <= 8; n++) {
        await c.save(n);
        await env.sleep(10 * MINUTE);
      }
      const waiting = await c.until((v) => v.run > 1 && v.pending?.contentRef.key === contentRef(8).key && v, 'a continued run with the last save');
      expect(waiting.versions).toEqual(first.versions);
      expect(waiting.timeline.some((t) => t.kind === 'CONTINUED')).toBe(true);
      expect(waiting.status).toBe('WAITING_TO_SEND');
      // The window carried over: due 3 h after the last save, not restarted by the new run.
      expect(Date.parse(waiting.sendDueAt!) - Date.parse(waiting.lastSavedAt!)).toBe(3 * HOUR);
      // Event ids carried over too: a retried event from before the continue changes nothing.
      await c.save(8, { eventId: 'ev-8' });
      await env.sleep(3 * HOUR + MINUTE);
      const v = await c.until((x) => x.versions.length === 2 && settled(x) && x, 'version 2');
      expect(v.versions[1]).toMatchObject({ documentId: first.versions[0]!.documentId, version: 2, replaces: { version: 1 } });
      expect(contentNumberOf(c.recorded.deliveries[1]!.input.submissionRef.key)).toBe(8);
    });
  });

  it('retires after a long quiet spell, and a resumed run carries on with the next version', async () => {
    let retired: ConsultationView | undefined;
    const consultationId = `cons-${randomUUID()}`;
    await withConsultation({ consultationId, settings: { retireAfterIdleMs: 2 * 24 * HOUR } }, async (c) => {
      await c.save(1);
      await c.finalise();
      await c.until((v) => settled(v) && v, 'version 1');
      retired = await c.handle.result();
      expect(retired.status).toBe('RETIRED');
      expect((await c.handle.describe()).typedSearchAttributes.get(ConsultationStatusKey)).toBe('RETIRED');
    });
    // What the API does for an event to a RETIRED consultation: start a new run from its result.
    await withConsultation({ consultationId, carryOver: { view: retired!, seenEventIds: [] } }, async (c) => {
      await c.save(2, { eventId: 'after-retirement' });
      await c.finalise();
      const v = await c.until((x) => x.versions.length === 2 && settled(x) && x, 'version 2');
      expect(v.run).toBe(2);
      expect(v.versions[1]).toMatchObject({ documentId: retired!.versions[0]!.documentId, version: 2, replaces: { version: 1 }, lateReplacement: true });
      expect(v.timeline.some((t) => t.kind === 'RESUMED')).toBe(true);
    });
  });

  it('explains itself in the Web UI: status, what it waits for and until when, the action that fits, and no patient data', async () => {
    const consultationId = `cons-${randomUUID()}`;
    await withConsultation({ consultationId }, async (c) => {
      await c.save(1);
      const waiting = await c.until((v) => v.status === 'WAITING_TO_SEND' && v, 'the save');
      let details = await currentDetails(c.handle);
      expect(details).toContain(`Consultation \`${consultationId}\`: ${SENDER} → ${PRACTICE}`);
      expect(details).toContain('**Status:** WAITING_TO_SEND');
      expect(details).toContain(`the send window to end, until **${waiting.sendDueAt}**`);
      expect(details).toContain(`itk3 consultation finalise ${SENDER} ${consultationId}`);
      expect(details).toContain(`POST /v1/consultations/${SENDER}/${consultationId}/events`);
      expect(details).toContain('signal `consultationEvent`');

      await c.finalise();
      await c.until((v) => settled(v) && v, 'the delivery');
      await env.sleep(MINUTE);
      details = await currentDetails(c.handle);
      expect(details).toContain('**Status:** SENT');
      expect(details).toContain('v1 DELIVERED 30001');
      expect(details).toContain(`itk3 consultation save ${SENDER} ${consultationId}`);
      expect(details).toContain('with none, it retires at');

      // The time-skipping server keeps timer and activity summaries; it drops the child workflow's static summary.
      const summaries = await historySummaries(c.handle);
      expect(summaries).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^send window ends: send the content of event ev-1 to X26$/),
          expect.stringMatching(/^prepare document [0-9a-f-]{36} v1 from the content of event ev-1$/),
        ]),
      );
      for (const text of [details, ...summaries]) for (const value of PATIENT_VALUES) expect(text).not.toContain(value);
    });
  });

  it('names the escalation activity after its case and tells the operator what to do when suppressed', async () => {
    const consultationId = `cons-${randomUUID()}`;
    await withConsultation({ invalidContent: [1], consultationId }, async (c) => {
      const eventId = await c.save(1);
      await c.finalise();
      await c.until((x) => x.escalations.length === 1 && x, 'the escalation');
      await c.registeredHere(true);
      await c.until((v) => v.status === 'SUPPRESSED' && v, 'suppression');
      await env.sleep(MINUTE);
      const details = await currentDetails(c.handle);
      expect(details).toContain('**Status:** SUPPRESSED');
      expect(details).toContain(`itk3 consultation registered-here ${SENDER} ${consultationId} --not`);
      expect(details).toContain(`\`${c.workflowId}:content-invalid-${eventId}\``);
      expect(await historySummaries(c.handle)).toContain(`escalate to an operator: content-invalid-${eventId}`);
    });
  });
});
