/**
 * Every operator action of the registry (contracts/operator-actions.ts) on every surface: the workflow
 * update under its wire name, the API route (answering with the action's update, and 404 for an unknown
 * delivery rather than a missing route), `/openapi.json` with the action's summary, the HTTP client's
 * method hitting that route, and the `itk3` command with its help line sending that body. The checks run
 * per registry entry, so an action missing from any surface fails here. Synthetic submissions only.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Command } from 'commander';
import pino from 'pino';
import { buildApi } from '../../../client/api/api';
import type { OperatorActionBody } from '../../../client/lib/api-schemas';
import { Authenticator } from '../../../client/auth';
import { operatorHelp, registerDeliveryCommands } from '../../../client/cli/cli-commands';
import { CourierHttpClient } from '../../../client/lib/http-client';
import { OPERATOR_ACTION_NAMES, OPERATOR_ACTIONS, OPERATOR_INPUT_SCHEMAS, QUARANTINE_ACTION_NAMES, QUARANTINE_ACTIONS, type OperatorActionName, type OperatorActionResult, type QuarantineActionName } from '../../../contracts';
import { QUARANTINE_INPUT_SCHEMAS } from '../../../contracts/inbound';
import { actionHelp } from '../../../client/cli/action-options';
import { registerQuarantineCommands } from '../../../client/cli/quarantine-commands';
import { QuarantineHttpClient } from '../../../client/lib/quarantine-client';
import * as quarantineDefinitions from '../../../workflows/quarantine-definitions';
import * as definitions from '../../../workflows/definitions';
import { submission } from '../../fixtures/itk3/submissions';
import { MemoryStore } from '../../helpers/memory-store';
import { TEST_ACTIVITY_CONFIG } from '../../helpers/activity-config';

const RUNNING = 'send-document-00000000-0000-4000-8000-000000000001-v1';
const QUARANTINED = 'inbound-quarantine-X26ABC1-Q1';
const OPERATOR_TOKEN = 'operator-secret-for-registry-test';

/** A valid request body for each action; the type makes an action without one a compile error. */
const BODIES: { [N in OperatorActionName]: OperatorActionBody<N> } = {
  correct: { reason: 'fixed the sender ODS', submission: submission() },
  resend: { reason: 'practice asked again', overrideBusinessRejection: true },
  replace: { reason: 'amended report', submission: submission() },
  abandon: { reason: 'sent by post instead' },
  acknowledgeEscalation: { note: 'calling the practice', escalationId: 'NO_BUSINESS_ACK:1' },
  changeDeadlines: { reason: 'practice closed today', deadlines: { businessAckMs: '3d' } },
};

/** Command-line arguments for each action's `itk3` command, and the body they must send. */
function cliCases(dir: string): { [N in OperatorActionName]: { args: string[]; body: Record<string, unknown> } } {
  const file = path.join(dir, 'submission.json');
  writeFileSync(file, JSON.stringify(submission()));
  return {
    correct: { args: ['--submission', file, '--reason', 'r1', '--override-business-rejection'], body: { submission: submission(), reason: 'r1', overrideBusinessRejection: true } },
    resend: { args: ['--reason', 'r2'], body: { reason: 'r2' } },
    replace: { args: ['--submission', file, '--reason', 'r3'], body: { submission: submission(), reason: 'r3' } },
    abandon: { args: ['--reason', 'r4'], body: { reason: 'r4' } },
    acknowledgeEscalation: { args: ['--note', 'n5', '--escalation', 'E1'], body: { note: 'n5', escalationId: 'E1' } },
    changeDeadlines: { args: ['--reason', 'r6', '--business-ack', '3d', '--decision-window', '2h'], body: { reason: 'r6', deadlines: { businessAckMs: '3d', decisionWindowMs: '2h' } } },
  };
}

const activity = TEST_ACTIVITY_CONFIG;

const result = (action: OperatorActionName): OperatorActionResult => ({ action, at: '2026-12-01T10:00:00.000Z', status: 'AWAITING_INFRASTRUCTURE_ACK', waitingFor: 'INFRASTRUCTURE_ACK', attempt: 2 });

/** Temporal as the API sees it: one running delivery that records the updates it is sent. */
function fakeTemporal(): { client: Client; updates: Array<{ workflowId: string; name: string; input: Record<string, unknown> }> } {
  const updates: Array<{ workflowId: string; name: string; input: Record<string, unknown> }> = [];
  const known = (id: string): void => {
    if (id !== RUNNING && id !== QUARANTINED) throw new WorkflowNotFoundError('not found', id, undefined);
  };
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        describe: async () => (known(id), { type: 'sendDocumentWorkflow', status: { name: 'RUNNING' } }),
        executeUpdate: async (def: { name: string }, options: { args: [Record<string, unknown>] }) => {
          known(id);
          updates.push({ workflowId: id, name: def.name, input: options.args[0] });
          return id === QUARANTINED ? { quarantineId: id, status: 'RESOLVED' } : result(def.name as OperatorActionName);
        },
      }),
    },
  } as unknown as Client;
  return { client, updates };
}

/** The API on a free loopback port (light-my-request's `inject` does not load under jest's CommonJS). */
async function api() {
  const temporal = fakeTemporal();
  const app = buildApi({
    client: temporal.client,
    logger: pino({ level: 'silent' }),
    auth: new Authenticator([{ name: 'ops-1', role: 'operator', secret: OPERATOR_TOKEN }]),
    store: new MemoryStore(),
    activity,
    deadlines: { infrastructureAckMs: 4 * 3_600_000, businessAckMs: 48 * 3_600_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const call = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { app, call, updates: temporal.updates };
}

describe.each(OPERATOR_ACTION_NAMES.map((name) => [name]))('operator action %s on every surface', (name) => {
  const action = OPERATOR_ACTIONS[name];

  it('is the registry entry of that name, with one schema for the update input', () => {
    expect(action.name).toBe(name);
    expect(OPERATOR_INPUT_SCHEMAS[name]).toBeDefined();
  });

  it('is a workflow update under its wire name', () => {
    expect(definitions.OPERATOR_UPDATES[name]).toMatchObject({ type: 'update', name });
    // The workflow's handlers are registered on the named exports (correctUpdate...): the same definition.
    const named = Object.values(definitions).filter((d) => typeof d === 'object' && d !== null && 'type' in d && d.type === 'update' && 'name' in d && d.name === name);
    expect(named).toHaveLength(1);
    expect(named[0]).toBe(definitions.OPERATOR_UPDATES[name]);
  });

  it('has an API route that sends the update with the caller as actor, and 404s an unknown delivery', async () => {
    const { app, call, updates } = await api();
    const url = (id: string): string => `/v1/documents/${id}/actions/${action.route}`;
    const ok = await call('POST', url(RUNNING), BODIES[name]);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ action: name });
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ workflowId: RUNNING, name, input: { actor: 'ops-1', [action.reasonField]: expect.any(String) } });
    expect(OPERATOR_INPUT_SCHEMAS[name].safeParse(updates[0]!.input).success).toBe(true);
    if (action.storedSubmission) expect(updates[0]!.input).toHaveProperty('submissionRef.sha256');

    // Our own 404 (error NOT_FOUND, naming the delivery), not the framework's answer for a missing route.
    const missing = await call('POST', url('send-document-unknown-v1'), BODIES[name]);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: 'NOT_FOUND', message: 'no delivery send-document-unknown-v1' });
    await app.close();
  });

  it('is in /openapi.json with its summary and when it is allowed', async () => {
    const { app, call } = await api();
    const doc = (await call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, { operationId: string; summary: string; description?: string }>> };
    expect(doc.paths[`/v1/documents/{id}/actions/${action.route}`]?.post).toMatchObject({ operationId: name, summary: action.summary, description: action.allowedWhen });
    await app.close();
  });

  it('is a method of the HTTP client that posts to its route', async () => {
    const calls: Array<{ url: string; method: string; body: unknown }> = [];
    const fetchFn = (async (url: URL, init: RequestInit) => {
      calls.push({ url: String(url), method: String(init.method), body: JSON.parse(String(init.body)) });
      return new Response(JSON.stringify(result(name)), { status: 200 });
    }) as typeof fetch;
    const client = new CourierHttpClient('http://courier.test', fetchFn);
    expect(typeof client[name]).toBe('function');
    await expect(Reflect.apply(client[name], client, [RUNNING, BODIES[name]])).resolves.toMatchObject({ action: name });
    expect(calls).toEqual([{ url: `http://courier.test/v1/documents/${RUNNING}/actions/${action.route}`, method: 'POST', body: JSON.parse(JSON.stringify(BODIES[name])) }]);
  });

  it('is an itk3 command with its help line, sending the body its options describe', async () => {
    const calls: Array<{ url: string; body: unknown }> = [];
    const fetchFn = (async (url: URL, init: RequestInit) => {
      calls.push({ url: String(url), body: JSON.parse(String(init.body)) });
      return new Response(JSON.stringify(result(name)), { status: 200 });
    }) as typeof fetch;
    const program = new Command().exitOverride();
    registerDeliveryCommands(program, { client: () => new CourierHttpClient('http://courier.test', fetchFn), asJson: () => false });
    const command = program.commands.find((c) => c.name() === action.cli.command);
    expect(command?.description()).toBe(operatorHelp(action));
    expect(program.helpInformation()).toContain(action.cli.command);
    expect(operatorHelp(action).toLowerCase()).toContain(action.summary.toLowerCase());

    const cases = cliCases(mkdtempSync(path.join(os.tmpdir(), 'itk3-registry-')));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'itk3', action.cli.command, RUNNING, ...cases[name].args]);
      expect(write).toHaveBeenCalledWith(expect.stringContaining(`${name} accepted`));
    } finally {
      write.mockRestore();
    }
    expect(calls).toEqual([{ url: `http://courier.test/v1/documents/${RUNNING}/actions/${action.route}`, body: JSON.parse(JSON.stringify(cases[name].body)) }]);
  });
});

/** A valid body for each quarantine action, and `itk3 quarantine` arguments with the body they must send. */
const QUARANTINE_CASES: { [N in QuarantineActionName]: { body: Record<string, unknown>; args: string[]; sent: Record<string, unknown> } } = {
  rerouteQuarantine: {
    body: { reason: 'confirmed by phone', targetWorkflowId: RUNNING, code: '20013' },
    args: ['--to', RUNNING, '--reason', 'confirmed by phone', '--attempt', '2', '--actor', 'someone-else'],
    sent: { targetWorkflowId: RUNNING, reason: 'confirmed by phone', attempt: 2 },
  },
  resolveQuarantine: { body: { reason: 'a report about another system' }, args: ['--reason', 'not ours'], sent: { reason: 'not ours' } },
};

describe.each(QUARANTINE_ACTION_NAMES.map((name) => [name]))('quarantine action %s on every surface', (name) => {
  const action = QUARANTINE_ACTIONS[name];

  it('is the quarantine workflow update of that wire name, with one schema for its input', () => {
    expect(action.name).toBe(name);
    expect(Object.values(quarantineDefinitions).filter((d) => typeof d === 'object' && d !== null && 'type' in d && d.type === 'update' && 'name' in d && d.name === name)).toHaveLength(1);
    expect(QUARANTINE_INPUT_SCHEMAS[name]).toBeDefined();
  });

  it('has an API route that sends the update with the caller as actor, 404 for an unknown entry, and is in /openapi.json', async () => {
    const { app, call, updates } = await api();
    const url = (id: string): string => `/v1/quarantine/${id}/${action.route}`;
    const ok = await call('POST', url(QUARANTINED), { ...QUARANTINE_CASES[name].body, actor: 'claimed-by-body' });
    expect(ok.status).toBe(200);
    expect(updates).toEqual([{ workflowId: QUARANTINED, name, input: { ...QUARANTINE_CASES[name].body, actor: 'ops-1' } }]);
    expect(QUARANTINE_INPUT_SCHEMAS[name].safeParse(updates[0]!.input).success).toBe(true);
    const missing = await call('POST', url('inbound-quarantine-X26ABC1-NOPE'), QUARANTINE_CASES[name].body);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: 'NOT_FOUND', message: 'no quarantine entry inbound-quarantine-X26ABC1-NOPE' });
    const doc = (await call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, { operationId: string; summary: string }>> };
    expect(doc.paths[`/v1/quarantine/{id}/${action.route}`]?.post).toMatchObject({ operationId: name, summary: action.summary });
    await app.close();
  });

  it('is a method of the quarantine client and an `itk3 quarantine` command with its help line, posting to its route', async () => {
    const calls: Array<{ url: string; body: unknown }> = [];
    const fetchFn = (async (url: URL, init: RequestInit) => {
      calls.push({ url: String(url), body: JSON.parse(String(init.body)) });
      return new Response(JSON.stringify({ quarantineId: QUARANTINED, status: 'RESOLVED' }), { status: 200 });
    }) as typeof fetch;
    const route = `http://courier.test/v1/quarantine/${QUARANTINED}/${action.route}`;
    await new QuarantineHttpClient('http://courier.test', fetchFn).action(name, QUARANTINED, QUARANTINE_CASES[name].body);
    expect(calls).toEqual([{ url: route, body: QUARANTINE_CASES[name].body }]);

    calls.length = 0;
    const program = new Command().exitOverride();
    registerQuarantineCommands(program, { apiUrl: () => 'http://courier.test', asJson: () => false });
    const command = program.commands.find((c) => c.name() === 'quarantine')?.commands.find((c) => c.name() === action.cli.command);
    expect(command?.description()).toBe(actionHelp(action.summary));
    const realFetch = globalThis.fetch;
    globalThis.fetch = fetchFn;
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'itk3', 'quarantine', action.cli.command, QUARANTINED, ...QUARANTINE_CASES[name].args]);
      expect(write).toHaveBeenCalledWith(expect.stringContaining(`${QUARANTINED}: RESOLVED`));
    } finally {
      globalThis.fetch = realFetch;
      write.mockRestore();
    }
    expect(calls).toEqual([{ url: route, body: QUARANTINE_CASES[name].sent }]);
  });
});

describe('operator registry', () => {
  it('refuses `itk3 quarantine reroute --attempt` that is not a whole number before calling the API', async () => {
    const fetchFn = jest.fn();
    const realFetch = globalThis.fetch;
    globalThis.fetch = fetchFn as unknown as typeof fetch;
    const program = new Command().exitOverride();
    registerQuarantineCommands(program, { apiUrl: () => 'http://courier.test', asJson: () => false });
    try {
      await expect(program.parseAsync(['node', 'itk3', 'quarantine', 'reroute', QUARANTINED, '--to', RUNNING, '--reason', 'r', '--attempt', 'two'])).rejects.toThrow('--attempt must be a whole number');
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(fetchFn).not.toHaveBeenCalled();
  });

  it('gives every action its own route and command', () => {
    const routes = OPERATOR_ACTION_NAMES.map((n) => OPERATOR_ACTIONS[n].route);
    const commands = OPERATOR_ACTION_NAMES.map((n) => OPERATOR_ACTIONS[n].cli.command);
    expect(new Set(routes).size).toBe(routes.length);
    expect(new Set(commands).size).toBe(commands.length);
  });

  it('refuses `itk3 deadlines` without a deadline before calling the API', async () => {
    const fetchFn = jest.fn();
    const program = new Command().exitOverride();
    registerDeliveryCommands(program, { client: () => new CourierHttpClient('http://courier.test', fetchFn as unknown as typeof fetch), asJson: () => false });
    await expect(program.parseAsync(['node', 'itk3', 'deadlines', RUNNING, '--reason', 'r'])).rejects.toThrow('name at least one deadline to change');
    expect(fetchFn).not.toHaveBeenCalled();
  });
});
