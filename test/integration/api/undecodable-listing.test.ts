/**
 * Listings on the real Temporal server when one entry cannot be decoded with the API's codec keys (a
 * retired key, or another deployment sharing the namespace): the quarantine and consultation listings
 * still answer 200, list the entry by id marked "cannot be decoded with the configured keys", and log
 * its workflow id and key id, never its content. The delivery listing reads search attributes only and
 * is checked alongside so that it stays that way.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { loadConfig, parseKeyRing } from '../../../config/env';
import { createLogger } from '../../../config/logger';
import { consultationWorkflowId } from '../../../contracts/consultation';
import { QUARANTINE_WORKFLOW_TYPE, quarantineWorkflowId } from '../../../contracts/inbound';
import { ConsultationStatusKey, DeliveryStatusKey, QuarantineReasonKey, QuarantineStatusKey, RecipientOdsKey, SenderOdsKey } from '../../../contracts/search-attributes';
import { courierDataConverter } from '../../../payload-codec/aes-gcm-codec';
import { CONSULTATION_WORKFLOW_TYPE } from '../../../client/api/consultation-routes';
import { DELIVERY_WORKFLOW_TYPE } from '../../../client/api/delivery-list';
import { createStore } from '../../../worker/compose';
import { eventually } from '../../helpers/courier-harness';
import { startLocalApi } from '../../helpers/local-api';
import { localCourierSetup } from '../../helpers/services';

jest.setTimeout(90_000);

const SECRET = 'Testpatient 9990000018';
// Unique per run, so that this suite only ever looks at what it created.
const tag = randomBytes(4).toString('hex').toUpperCase();
const MAILBOX = `U${tag}`;
const ODS = `Q${tag}`;

describe('listings with an entry the API cannot decode', () => {
  let api: { url: string; close(): Promise<void> };
  let ours: Client;
  let foreign: Client;
  let token: { operator: string; submitter: string };
  const started: WorkflowHandle[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    const setup = localCourierSetup('undecodable');
    token = setup.tokens;
    const config = loadConfig({ ...setup.env, LOG_LEVEL: 'info' });
    const connection = await Connection.connect({ address: config.env.TEMPORAL_ADDRESS });
    ours = new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: courierDataConverter(config.codecKeys) });
    // Entries written under a key the API does not have: the same situation as after a key is retired.
    foreign = new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: courierDataConverter(parseKeyRing(`retired-key:${randomBytes(32).toString('base64')}`)) });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    api = await startLocalApi({ config, client: ours, logger, store: createStore(config), dir: setup.dir });
  });

  afterAll(async () => {
    await Promise.all(started.map((h) => h.terminate('test finished').catch(() => undefined)));
    await api?.close();
    await ours?.connection.close();
  });

  /** A workflow nobody runs (its task queue has no worker): only its visibility record matters here. */
  async function start(client: Client, type: string, workflowId: string, memo: Record<string, unknown>, searchAttributes: SearchAttributePair[]): Promise<void> {
    const handle = await client.workflow.start(type, { workflowId, taskQueue: `nobody-${randomUUID()}`, args: [], memo, typedSearchAttributes: searchAttributes });
    started.push(handle);
  }

  async function get(path: string, bearer: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: res.status, body: await res.json() };
  }

  /** The listing once visibility shows every id we expect (it is eventually consistent); fails on a non-200. */
  async function listed<T extends Record<string, unknown>>(path: string, bearer: string, idField: string, ids: string[]): Promise<T[]> {
    let last: { status: number; body: unknown } | undefined;
    try {
      return await eventually(
        async () => {
          last = await get(path, bearer);
          if (last.status !== 200) return undefined;
          const mine = (last.body as { items: T[] }).items.filter((i) => ids.includes(i[idField] as string));
          return mine.length === ids.length ? mine : undefined;
        },
        20_000,
        `${path} to list ${ids.join(', ')}`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last answer ${last?.status}: ${JSON.stringify(last?.body)}`);
    }
  }

  it('GET /v1/quarantine answers 200, listing the undecodable entry by id and marked, and logs its id and key id', async () => {
    const readable = quarantineWorkflowId(MAILBOX, `READABLE-${tag}`);
    const unreadable = quarantineWorkflowId(MAILBOX, `UNREADABLE-${tag}`);
    const sa: SearchAttributePair[] = [
      { key: QuarantineStatusKey, value: 'OPEN' },
      { key: QuarantineReasonKey, value: 'MALFORMED' },
    ];
    await start(ours, QUARANTINE_WORKFLOW_TYPE, readable, { mailboxId: MAILBOX, meshMessageId: `READABLE-${tag}`, reason: 'MALFORMED', receivedAt: '2026-12-06T10:00:00.000Z' }, sa);
    await start(foreign, QUARANTINE_WORKFLOW_TYPE, unreadable, { mailboxId: MAILBOX, meshMessageId: SECRET, reason: 'MALFORMED' }, sa);

    const items = await listed<Record<string, unknown>>('/v1/quarantine?reason=MALFORMED&limit=1000', token.operator, 'quarantineId', [readable, unreadable]);
    const byId = Object.fromEntries(items.map((i) => [i.quarantineId, i]));
    expect(byId[readable]).toEqual({ quarantineId: readable, status: 'OPEN', reason: 'MALFORMED', mailboxId: MAILBOX, meshMessageId: `READABLE-${tag}`, receivedAt: '2026-12-06T10:00:00.000Z' });
    expect(byId[unreadable]).toEqual({ quarantineId: unreadable, status: 'OPEN', reason: 'MALFORMED', undecodable: { message: 'cannot be decoded with the configured keys', keyIds: ['retired-key'] } });

    const warning = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.workflowId === unreadable);
    expect(warning).toMatchObject({ level: 40, keyIds: ['retired-key'], configuredKeyIds: ['codec1'], msg: expect.stringContaining('cannot be decoded with the configured keys') });
    expect(logLines.join('\n')).not.toContain(SECRET);
  });

  it('GET /v1/consultations answers 200 and lists an undecodable consultation from its search attributes', async () => {
    const readable = consultationWorkflowId(ODS, `readable-${tag}`);
    const unreadable = consultationWorkflowId(ODS, `unreadable-${tag}`);
    const sa: SearchAttributePair[] = [
      { key: ConsultationStatusKey, value: 'AWAITING_CONTENT' },
      { key: SenderOdsKey, value: ODS },
    ];
    await start(ours, CONSULTATION_WORKFLOW_TYPE, readable, { note: 'readable' }, sa);
    await start(foreign, CONSULTATION_WORKFLOW_TYPE, unreadable, { note: SECRET }, sa);

    const items = await listed<Record<string, unknown>>(`/v1/consultations?senderOds=${ODS}&limit=1000`, token.submitter, 'workflowId', [readable, unreadable]);
    const byId = Object.fromEntries(items.map((i) => [i.workflowId, i]));
    expect(byId[readable]).toMatchObject({ senderOds: ODS, consultationId: `readable-${tag}`, status: 'AWAITING_CONTENT', executionStatus: 'RUNNING' });
    expect(byId[readable]).not.toHaveProperty('undecodable');
    expect(byId[unreadable]).toMatchObject({ senderOds: ODS, consultationId: `unreadable-${tag}`, status: 'AWAITING_CONTENT', undecodable: { message: 'cannot be decoded with the configured keys', keyIds: ['retired-key'] } });
    expect(logLines.some((l) => l.includes(unreadable) && l.includes('retired-key'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(SECRET);
  });

  it('GET /v1/documents keeps answering 200: it reads search attributes only and never decodes a memo', async () => {
    const unreadable = `send-document-${randomUUID()}-v1`;
    await start(foreign, DELIVERY_WORKFLOW_TYPE, unreadable, { note: SECRET }, [
      { key: DeliveryStatusKey, value: 'SENDING' },
      { key: RecipientOdsKey, value: ODS },
    ]);
    const items = await listed<Record<string, unknown>>(`/v1/documents?recipientOds=${ODS}&pageSize=100`, token.submitter, 'workflowId', [unreadable]);
    expect(items[0]).toMatchObject({ workflowId: unreadable, status: 'SENDING', recipientOds: ODS });
  });
});
