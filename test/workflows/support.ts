/**
 * Shared set-up for workflow tests: the time-skipping test server from .venv (never the default
 * download), the workflow bundle built once per test file, typed activity fakes that record every
 * call, and synthetic ITK3 Responses classified by the real code table. No MESH, no content store:
 * the submission is only a ContentRef, so no patient data exists anywhere in these tests.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import { issueActorToken, verifyActorToken } from '../../activities/actor-token';
import { parseKeyRing } from '../../config/env';
import type {
  CheckStoredSubmissionInput,
  CheckStoredSubmissionResult,
  ContentRef,
  DeliveryDeadlines,
  DeliveryState,
  EscalationInput,
  Itk3ResponseReceived,
  MeshReportReceived,
  SendDocumentInput,
  SendMeshMessageResult,
  TrackMeshMessageInput,
  TrackMeshMessageResult,
} from '../../contracts';
import { deliveryWorkflowId } from '../../contracts/ids';
import { ALL_SEARCH_ATTRIBUTES, SenderReferenceKey } from '../../contracts/search-attributes';
import { classifyResponseCode } from '../../itk3';
import { itk3ResponseSignal, stateQuery } from '../../workflows/definitions';
import { sendDocumentWorkflow } from '../../workflows/send-document';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const TEST_SERVER = path.join(REPO_ROOT, '.venv/bin/temporal-test-server');
export const WORKFLOWS_PATH = path.join(REPO_ROOT, 'workflows/index.ts');

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let runtimeInstalled = false;
/** Keep the SDK's own INFO lines out of test output; the native runtime is one per process. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this jest worker by an earlier test file
  }
  runtimeInstalled = true;
}

/**
 * The time-skipping server from .venv, with our search attributes registered: it rejects upserts of
 * unknown ones, exactly as the real server does, so the tests also prove every upsert is well-typed.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
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
  const searchAttributes = Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, types[k.type]!]));
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
  return env;
}

export async function bundle(workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
}

/** What a workflow test file reads inside its tests: the server of the running test and the bundle. */
export interface TimeSkippingServer {
  readonly env: TestWorkflowEnvironment;
  readonly workflowBundle: WorkflowBundleWithSourceMap;
}

/**
 * The set-up every delivery-workflow test file shares: the workflow code bundled once per file, and one
 * time-skipping server per test (its clock is global to the server, so nothing one test leaves running
 * can hold or move the clock of the next). Call at the top level of the file; read `env` and
 * `workflowBundle` inside tests.
 */
export function useTimeSkippingServer(): TimeSkippingServer {
  let env: TestWorkflowEnvironment | undefined;
  let workflowBundle: WorkflowBundleWithSourceMap | undefined;
  beforeAll(async () => {
    workflowBundle = await bundle();
  });
  beforeEach(async () => {
    env = await createTimeSkippingEnv();
  });
  afterEach(async () => {
    await env?.teardown();
    env = undefined;
  });
  return {
    get env(): TestWorkflowEnvironment {
      if (!env) throw new Error('the time-skipping server exists only inside a test');
      return env;
    },
    get workflowBundle(): WorkflowBundleWithSourceMap {
      if (!workflowBundle) throw new Error('the workflow bundle is made in beforeAll');
      return workflowBundle;
    },
  };
}

export const DEADLINES: DeliveryDeadlines = {
  infrastructureAckMs: 4 * HOUR,
  businessAckMs: 48 * HOUR,
  reminderIntervalMs: 24 * HOUR,
  replacementWindowMs: 24 * HOUR,
  decisionWindowMs: 7 * 24 * HOUR,
};

export function contentRef(key = `submission/${randomUUID()}`): ContentRef {
  return { key, sha256: 'a'.repeat(64), size: 2048 };
}

/**
 * A delivery's input as the API makes it: each attempt built and sent in one activity. Override with
 * `{ sendInOneActivity: undefined }` for a delivery started before that path (the field then is absent).
 */
export function sendInput(overrides: Partial<SendDocumentInput> = {}): SendDocumentInput {
  const input: SendDocumentInput = {
    documentId: randomUUID(),
    version: 1,
    senderOds: 'X26',
    recipientOds: 'A12345',
    submissionRef: contentRef(),
    deadlines: DEADLINES,
    submittedAt: '2026-01-05T09:00:00.000Z',
    sendInOneActivity: true,
    ...overrides,
  };
  if (input.sendInOneActivity === undefined) delete input.sendInOneActivity;
  return input;
}

/** Overrides for a delivery started before the one-activity path: it builds, then sends, in two activities. */
export const TWO_ACTIVITIES: Partial<SendDocumentInput> = { sendInOneActivity: undefined };

export const workflowIdOf = (input: SendDocumentInput): string => deliveryWorkflowId(input.documentId, input.version);

/** A synthetic ITK3 Response to the given attempt, classified exactly as the inbound edge does. */
export function response(code: string, respondsTo: string, overrides: Partial<Itk3ResponseReceived> = {}): Itk3ResponseReceived {
  const cls = classifyResponseCode(code);
  return {
    responseId: randomUUID(),
    respondsTo,
    code,
    display: cls.display ?? 'unknown',
    level: cls.level,
    polarity: cls.polarity,
    action: cls.action,
    responseCode: cls.polarity === 'positive' ? 'ok' : 'fatal-error',
    meshMessageId: `MESH-IN-${randomUUID().slice(0, 8)}`,
    receivedAt: '2026-01-05T10:00:00.000Z',
    ...overrides,
  };
}

export function meshReport(meshMessageId: string, kind: MeshReportReceived['kind'], statusCode?: string): MeshReportReceived {
  return {
    meshMessageId,
    reportMessageId: `REPORT-${randomUUID().slice(0, 8)}`,
    kind,
    ...(statusCode ? { statusCode } : {}),
    receivedAt: '2026-01-05T10:00:00.000Z',
  };
}

export interface Recorded {
  built: { attempt: number; messageHeaderId: string; submissionRef: ContentRef }[];
  sent: { attempt: number; messageHeaderId: string; meshMessageId: string }[];
  escalations: EscalationInput[];
  checks: CheckStoredSubmissionInput[];
  tracked: TrackMeshMessageInput[];
}

export interface FakeOptions {
  /** Answer for `checkStoredSubmission` (default: valid, same ODS codes). */
  check?: (input: CheckStoredSubmissionInput) => CheckStoredSubmissionResult;
  /** Make `sendMeshMessage` (and so `buildAndSendItk3Message`) fail for good with this failure type on these attempts. */
  failSend?: { attempts: number[]; type: string };
  /** Make the first this many tries of `sendMeshMessage` (and so `buildAndSendItk3Message`) fail for now (retryable). */
  failSendTries?: number;
  sizeBytes?: number;
  /** Answer for `trackMeshMessage` (MESH outbox tracking; default: accepted). Throw to fail it. */
  tracking?: (input: TrackMeshMessageInput) => Omit<TrackMeshMessageResult, 'checkedAt'> | Promise<Omit<TrackMeshMessageResult, 'checkedAt'>>;
  /** What `sendMeshMessage` reports about the addressing (as sends do since responses are checked against their sender). */
  sendRouting?: Pick<SendMeshMessageResult, 'routing' | 'recipientMailbox'>;
}

type FakeActivities = Pick<Activities, 'buildItk3Message' | 'sendMeshMessage' | 'buildAndSendItk3Message' | 'raiseEscalation' | 'checkStoredSubmission' | 'trackMeshMessage' | 'verifyActorToken'>;

/** The actor-token keys of the workflow tests' fake activities; `actorToken()` issues tokens the fakes accept. */
export const TEST_ACTOR_KEYS = parseKeyRing(`test-actor:${Buffer.alloc(32, 7).toString('base64')}`);
export const actorToken = (principal: string, workflowId: string, update: string, opts: { now?: number; ttlMs?: number } = {}): string =>
  issueActorToken(TEST_ACTOR_KEYS, { principal, workflowId, update }, opts);

/** Typed fakes of the activities the delivery workflow calls; `recorded` keeps every call. */
export function fakeActivities(opts: FakeOptions = {}): { activities: FakeActivities; recorded: Recorded } {
  const recorded: Recorded = { built: [], sent: [], escalations: [], checks: [], tracked: [] };
  let sendTries = 0;
  const activities: FakeActivities = {
    async buildItk3Message(input) {
      recorded.built.push({ attempt: input.attempt, messageHeaderId: input.messageHeaderId, submissionRef: input.submissionRef });
      return { messageRef: contentRef(`itk3-message/${input.messageHeaderId}`), sizeBytes: opts.sizeBytes ?? 48_000, meshWorkflowId: 'GPCONNECT_SEND_DOCUMENT' };
    },
    async sendMeshMessage(input) {
      if (++sendTries <= (opts.failSendTries ?? 0)) throw new Error('MESH unreachable for now');
      if (opts.failSend?.attempts.includes(input.attempt)) {
        const { ApplicationFailure } = await import('@temporalio/activity');
        throw ApplicationFailure.create({ type: opts.failSend.type, message: 'MESH refused the message', nonRetryable: true });
      }
      const meshMessageId = `MESH-OUT-${input.attempt}-${input.messageHeaderId.slice(0, 8)}`;
      recorded.sent.push({ attempt: input.attempt, messageHeaderId: input.messageHeaderId, meshMessageId });
      // The send time as the (possibly skipped) server clock sees it, like a real send would.
      const sentAt = new Date(Context.current().info.currentAttemptScheduledTimestampMs).toISOString();
      return { meshMessageId, sentAt, ...opts.sendRouting };
    },
    // The build fake then the send fake, read off `activities` when called: whatever a test injects into
    // either (a failing send, a replaced fake) applies to the one-activity path as well.
    async buildAndSendItk3Message(input) {
      const { messageRef, ...built } = await activities.buildItk3Message(input);
      const sent = await activities.sendMeshMessage({ messageRef, messageHeaderId: input.messageHeaderId, attempt: input.attempt });
      return { ...built, ...sent };
    },
    async raiseEscalation(input) {
      recorded.escalations.push(input);
    },
    async checkStoredSubmission(input) {
      recorded.checks.push(input);
      return opts.check ? opts.check(input) : { valid: true, issues: [], senderOds: 'X26', recipientOds: 'A12345', version: input.version };
    },
    // The real check (activities/actor-token.ts) with the test keys.
    async verifyActorToken(input) {
      if (!input.token) return { verified: false, reason: 'no valid token' };
      const check = verifyActorToken(TEST_ACTOR_KEYS, input.token, { workflowId: input.workflowId, update: input.update, now: input.at, ...(input.namespace !== undefined ? { namespace: input.namespace } : {}), input: input.input });
      return check.valid ? { verified: true, principal: check.principal } : { verified: false, reason: `invalid token: ${check.reason}` };
    },
    async trackMeshMessage(input) {
      recorded.tracked.push(input);
      const answer = opts.tracking ? await opts.tracking(input) : { status: 'accepted', statusEvent: 'TRANSFER' };
      return { ...answer, checkedAt: new Date(Context.current().info.currentAttemptScheduledTimestampMs).toISOString() };
    },
  };
  return { activities, recorded };
}

export async function newWorker(
  env: TestWorkflowEnvironment,
  workflowBundle: WorkflowBundleWithSourceMap,
  activities: FakeActivities,
  taskQueue: string,
  options: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, ...options });
}

/** Polls `probe` (a query) until it returns a value. Real time: the workflow needs a task or two. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface Flow {
  handle: WorkflowHandle<typeof sendDocumentWorkflow>;
  /** Run id of the first run (the handle itself follows continue-as-new to the latest run). */
  firstExecutionRunId?: string;
  input: SendDocumentInput;
  recorded: Recorded;
  taskQueue: string;
  state(): Promise<DeliveryState>;
  /** Waits (real time, a few workflow tasks) until the state satisfies `pred`. */
  waitFor(pred: (s: DeliveryState) => boolean, what: string): Promise<DeliveryState>;
  /** The MessageHeader id of attempt `n`, once that attempt has been sent. */
  sentAttempt(n: number): Promise<string>;
  /** Signals an ITK3 Response with `code` to attempt `n`; returns what was sent. */
  respond(code: string, n: number, overrides?: Partial<Itk3ResponseReceived>): Promise<Itk3ResponseReceived>;
}

export interface FlowOptions extends FakeOptions {
  input?: Partial<SendDocumentInput>;
  /** Set the SenderReference search attribute at start, as the API does. */
  senderReference?: string;
  taskQueue?: string;
}

/** Starts a delivery on a fresh task queue with fake activities and runs `body` while a worker serves it. */
export async function runFlow(
  env: TestWorkflowEnvironment,
  workflowBundle: WorkflowBundleWithSourceMap,
  opts: FlowOptions,
  body: (flow: Flow) => Promise<void>,
): Promise<Recorded> {
  const { activities, recorded } = fakeActivities(opts);
  const taskQueue = opts.taskQueue ?? `delivery-${randomUUID()}`;
  const input = sendInput(opts.input);
  const worker = await newWorker(env, workflowBundle, activities, taskQueue);
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(sendDocumentWorkflow, {
      workflowId: workflowIdOf(input),
      taskQueue,
      args: [input],
      ...(opts.senderReference ? { typedSearchAttributes: [{ key: SenderReferenceKey, value: opts.senderReference }] } : {}),
    });
    const flow = { ...flowFor(handle, input, recorded, taskQueue), firstExecutionRunId: handle.firstExecutionRunId };
    try {
      await body(flow);
    } finally {
      // A workflow left running would hold the time-skipping clock for the next test (its timers
      // fire onto a task queue nobody polls), so end whatever this test started.
      const replacement = deliveryWorkflowId(input.documentId, input.version + 1);
      for (const id of [workflowIdOf(input), replacement]) {
        await env.client.workflow.getHandle(id).terminate('test finished').catch(() => undefined);
      }
    }
  });
  return recorded;
}

/** The reason an update was refused or failed: the message and type of its cause. */
export async function refusalOf(update: Promise<unknown>): Promise<{ message: string; type?: string; details?: unknown[] }> {
  try {
    await update;
  } catch (err) {
    const cause = (err as { cause?: { message: string; type?: string; details?: unknown[] } }).cause;
    if (!cause) throw err;
    return { message: cause.message, ...(cause.type ? { type: cause.type } : {}), ...(cause.details ? { details: cause.details } : {}) };
  }
  throw new Error('expected the update to be refused');
}

export function flowFor(handle: WorkflowHandle<typeof sendDocumentWorkflow>, input: SendDocumentInput, recorded: Recorded, taskQueue: string): Flow {
  const state = () => handle.query(stateQuery);
  const waitFor = (pred: (s: DeliveryState) => boolean, what: string) =>
    until(async () => {
      const s = await state();
      return pred(s) ? s : undefined;
    }, what);
  return {
    handle,
    input,
    recorded,
    taskQueue,
    state,
    waitFor,
    async sentAttempt(n) {
      const s = await waitFor((x) => !!x.attempts[n - 1]?.sentAt, `attempt ${n} to be sent`);
      return s.attempts[n - 1]!.messageHeaderId;
    },
    async respond(code, n, overrides = {}) {
      const r = response(code, await this.sentAttempt(n), overrides);
      await handle.signal(itk3ResponseSignal, r);
      return r;
    },
  };
}

/** Timeline kinds in order, optionally only from `from` on. */
export const kinds = (s: DeliveryState, from = 0): string[] => s.timeline.slice(from).map((t) => t.kind);
export const escalationKinds = (r: Recorded): string[] => r.escalations.map((e) => `${e.kind}:${e.state}${e.code ? `:${e.code}` : ''}`);
