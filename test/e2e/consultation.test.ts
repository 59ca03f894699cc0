/**
 * The consultation lifecycle end to end: a backend tells the HTTP API that a consultation was
 * saved; after the (injected, short) window the consultation workflow sends version 1 through the real
 * delivery workflow, mesh-sandbox and the GP practice peer (NHS England's mesh-client); an edit after
 * that goes as version 2, replacing version 1. The peer records what it received, including
 * Composition.meta.versionId and relatesTo. Synthetic patient only (9990000018).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ConsultationContentInput, ConsultationView } from '../../contracts/consultation';
import { ConsultationHttpClient } from '../../client/lib/consultation-client';
import { eventually, startHarness, type Harness, type PeerRecord } from '../helpers/courier-harness';

jest.setTimeout(180_000);
const execFileAsync = promisify(execFile);

const WINDOW = '5s';
const example = JSON.parse(readFileSync(path.join(__dirname, '../../examples/consultation-report.json'), 'utf8')) as ConsultationContentInput & { documentId?: string; version?: number };

/** The example consultation as a backend would save it: no document id or version (the workflow assigns them). */
function content(encounterId: string, summary: string): ConsultationContentInput {
  const { documentId: _d, version: _v, ...rest } = example;
  return { ...rest, encounter: { ...rest.encounter, id: encounterId, summary } };
}

type Received = PeerRecord & { version?: string; relatesTo?: { code?: string; targetIdentifier?: string } };

describe('consultation lifecycle end to end', () => {
  let h: Harness;
  let api: ConsultationHttpClient;
  const previousWindow = process.env.ITK3_CONSULTATION_SEND_WINDOW;

  beforeAll(async () => {
    // Configuration, read when the API registers the consultation routes: a 5 s window instead of 3 h.
    process.env.ITK3_CONSULTATION_SEND_WINDOW = WINDOW;
    h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '60s', ITK3_BUS_ACK_TIMEOUT: '60s' });
    api = new ConsultationHttpClient(h.apiUrl, fetch, { authorization: `Bearer ${h.tokens.submitter}` });
  });
  afterAll(async () => {
    if (previousWindow === undefined) delete process.env.ITK3_CONSULTATION_SEND_WINDOW;
    else process.env.ITK3_CONSULTATION_SEND_WINDOW = previousWindow;
    await h?.stop();
  });

  const received = (encounterId: string): Received[] => h.peerRecords().filter((r) => r.senderReference === encounterId) as Received[];
  const viewWhen = (ods: string, id: string, ok: (v: ConsultationView) => boolean, what: string): Promise<ConsultationView> =>
    eventually(async () => {
      const v = await api.show(ods, id);
      return ok(v) ? v : undefined;
    }, 90_000, what);

  /**
   * What the Temporal Web UI shows: the static summary and details the API set at start, the current
   * details, and the delivery's static summary set by the consultation. Ids and ODS codes, never the
   * patient in the saved content.
   */
  const expectWebUiMetadata = async (ods: string, consultationId: string, v1: ConsultationView): Promise<void> => {
    const handle = h.temporal.workflow.getHandle(`consultation-${ods}-${consultationId}`);
    const described = await handle.describe();
    const summary = await described.staticSummary();
    const details = await described.staticDetails();
    expect(summary).toBe(`Consultation ${consultationId} from ${ods}`);
    expect(details).toContain(`POST /v1/consultations/${ods}/${consultationId}/events`);
    const current = (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
    expect(current).toContain('**Status:** SENT');
    const delivery = await h.temporal.workflow.getHandle(v1.versions[0]!.workflowId).describe();
    expect(await delivery.staticSummary()).toBe(`delivery of document ${v1.versions[0]!.documentId} v1 to ${v1.versions[0]!.recipientOds} (consultation ${consultationId})`);
    const { nhsNumber, givenName, familyName, birthDate } = example.patient as { nhsNumber: string; givenName: string; familyName: string; birthDate: string };
    const identifiers = [nhsNumber, givenName, familyName, birthDate];
    for (const text of [summary, details, current]) for (const value of identifiers) expect(text).not.toContain(value);
  };

  it('sends the original after the window, then an edit as version 2 replacing version 1; the practice receives both', async () => {
    const consultationId = `cons-${randomUUID()}`;
    const encounterId = `enc-${randomUUID()}`;
    const ods = example.sender.odsCode;

    // A burst of two saves inside the window: only the second is sent.
    const first = await api.event(ods, consultationId, { type: 'saved', content: content(encounterId, 'First draft of a synthetic consultation.') });
    expect(first).toMatchObject({ type: 'saved', resumed: false, workflowId: `consultation-${ods}-${consultationId}` });
    await api.event(ods, consultationId, { type: 'saved', content: content(encounterId, 'Final text of a synthetic consultation.') });
    const waiting = await api.show(ods, consultationId);
    expect(waiting.status).toBe('WAITING_TO_SEND');
    expect(Date.parse(waiting.sendDueAt!) - Date.parse(waiting.lastSavedAt!)).toBe(5000);

    const v1 = await viewWhen(ods, consultationId, (v) => v.versions[0]?.outcome === 'DELIVERED', 'version 1 DELIVERED');
    expect(v1.versions).toHaveLength(1);
    const documentId = v1.versions[0]!.documentId;
    expect(v1.versions[0]).toMatchObject({ version: 1, finalCode: '30001', voided: false });
    expect(v1.status).toBe('SENT');
    await expectWebUiMetadata(ods, consultationId, v1);
    const atPeer1 = received(encounterId);
    expect(atPeer1).toHaveLength(1);
    expect(atPeer1[0]).toMatchObject({ documentId, version: '1' });
    expect(atPeer1[0]!.relatesTo).toBeUndefined();

    // An edit after sending: version 2, a replacement of version 1.
    await api.event(ods, consultationId, { type: 'saved', content: content(encounterId, 'Amended text of a synthetic consultation.') });
    const v2 = await viewWhen(ods, consultationId, (v) => v.versions[1]?.outcome === 'DELIVERED', 'version 2 DELIVERED');
    expect(v2.versions[1]).toMatchObject({ documentId, version: 2, replaces: { documentId, version: 1 }, lateReplacement: false, finalCode: '30001' });
    const atPeer = received(encounterId);
    expect(atPeer).toHaveLength(2);
    expect(atPeer[1]).toMatchObject({ documentId, version: '2', relatesTo: { code: 'replaces', targetIdentifier: documentId } });
    expect(v2.escalations).toEqual([]);

    // Visible by status for operators (search attributes), with no patient identifier among them.
    const sent = await eventually(async () => {
      const { items } = await api.list({ status: 'SENT', senderOds: ods });
      return items.find((i) => i.consultationId === consultationId);
    }, 30_000, 'the consultation listed as SENT');
    expect(sent).toMatchObject({ senderOds: ods, recipientOds: example.recipient.odsCode, executionStatus: 'RUNNING' });
    const described = await h.temporal.workflow.getHandle(v2.workflowId).describe();
    expect(JSON.stringify(described.typedSearchAttributes)).not.toContain(example.patient.nhsNumber);

    // The operator CLI shows the same story (asynchronously: the API runs in this process).
    const cli = await execFileAsync(process.execPath, [
      '-r',
      path.join(__dirname, '../integration/api/swc-register.js'),
      path.join(__dirname, '../../client/cli/cli.ts'),
      '--api',
      h.apiUrl,
      '--token',
      h.tokens.submitter,
      'consultation',
      'show',
      ods,
      consultationId,
    ]);
    expect(cli.stdout).toContain(`${documentId} v1  DELIVERED`);
    expect(cli.stdout).toContain(`${documentId} v2  DELIVERED`);
    expect(cli.stdout).toContain('replaces v1');
    expect(cli.stdout).not.toContain(example.patient.nhsNumber);
  });

  it('voids both versions when the practice cannot process the replacement (20014), through the real delivery workflow', async () => {
    const consultationId = `cons-${randomUUID()}`;
    const encounterId = `enc-${randomUUID()}`;
    const ods = example.sender.odsCode;
    await api.event(ods, consultationId, { type: 'saved', content: content(encounterId, 'Original synthetic consultation.') });
    await api.event(ods, consultationId, { type: 'finalised' });
    const v1 = await viewWhen(ods, consultationId, (v) => v.versions[0]?.outcome === 'DELIVERED', 'version 1 DELIVERED');
    const documentId = v1.versions[0]!.documentId;

    h.setScenario(encounterId, ['20014']); // the practice cannot process the replacement
    await api.event(ods, consultationId, { type: 'saved', content: content(encounterId, 'Amended synthetic consultation.') });
    await api.event(ods, consultationId, { type: 'finalised' });
    const voided = await viewWhen(ods, consultationId, (v) => v.versions[1]?.outcome !== undefined, 'the outcome of version 2');
    expect(voided.versions.map((x) => [x.version, x.voided])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(voided.versions[1]).toMatchObject({ documentId, replaces: { documentId, version: 1 }, finalCode: '20014' });
    expect(voided.status).toBe('NOT_DELIVERED');
    expect(voided.escalations).toEqual([expect.objectContaining({ code: '20014', documentId, version: 2 })]);
    expect(received(encounterId).map((r) => r.version)).toEqual(['1', '2']);
  });

  it('lists a consultation as waiting to send, sends nothing once it is deleted, and refuses later events', async () => {
    const consultationId = `cons-${randomUUID()}`;
    const encounterId = `enc-${randomUUID()}`;
    const ods = example.sender.odsCode;
    await api.event(ods, consultationId, { type: 'saved', content: content(encounterId, 'A synthetic consultation that is deleted.') });
    const listed = await eventually(async () => {
      const { items } = await api.list({ status: 'WAITING_TO_SEND', senderOds: ods });
      return items.find((i) => i.consultationId === consultationId);
    }, 4_000, 'the consultation listed as WAITING_TO_SEND');
    expect(listed.sendDueAt).toBeTruthy();
    await api.event(ods, consultationId, { type: 'deleted', eventId: `delete-${consultationId}` });
    const deleted = await viewWhen(ods, consultationId, (v) => v.status === 'DELETED', 'DELETED');
    expect(deleted.versions).toEqual([]);
    await new Promise((r) => setTimeout(r, 6_000)); // past the window: still nothing sent
    expect(received(encounterId)).toHaveLength(0);
    // A retried delete is accepted; anything else for a deleted consultation is refused.
    await expect(api.event(ods, consultationId, { type: 'deleted', eventId: `delete-${consultationId}` })).resolves.toMatchObject({ type: 'deleted' });
    await expect(api.event(ods, consultationId, { type: 'finalised' })).rejects.toMatchObject({ status: 409, error: 'CONSULTATION_DELETED' });
  });

  it('answers 400 with the problems for content that could never be sent', async () => {
    const bad = content(`enc-${randomUUID()}`, 'Invalid synthetic content.');
    await expect(
      api.event(example.sender.odsCode, `cons-${randomUUID()}`, { type: 'saved', content: { ...bad, patient: { ...bad.patient, nhsNumber: '9990000019' } } }),
    ).rejects.toMatchObject({ status: 400, issues: expect.arrayContaining([expect.objectContaining({ path: 'content.patient.nhsNumber' })]) });
    await expect(api.event(example.sender.odsCode, 'not a valid id!', { type: 'finalised' })).rejects.toMatchObject({ status: 400 });
  });
});
