/**
 * What the API starts a consultation with: its deliveries build and send each attempt in one activity.
 * A fake client captures the signal-with-start; nothing else of the route is exercised here.
 */
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { recordConsultationEvent } from '../../../client/api/consultation-routes';
import { createLogger } from '../../../config/logger';
import type { ConsultationWorkflowInput } from '../../../contracts/consultation';
import { TEST_ACTIVITY_CONFIG } from '../../helpers/activity-config';
import { MemoryStore } from '../../helpers/memory-store';

const HOUR = 3_600_000;

it('starts a consultation whose deliveries are built and sent in one activity each', async () => {
  let started: { args: [ConsultationWorkflowInput] } | undefined;
  const client = { workflow: { signalWithStart: async (_type: string, options: { args: [ConsultationWorkflowInput] }) => void (started = options) } } as unknown as Client;
  await recordConsultationEvent(
    { client, logger: createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) }), store: new MemoryStore(), activity: TEST_ACTIVITY_CONFIG, deadlines: { infrastructureAckMs: 4 * HOUR, businessAckMs: 48 * HOUR } },
    { senderOds: 'X26', consultationId: 'cons-1' },
    { type: 'finalised' },
  );
  expect(started!.args[0]).toMatchObject({ senderOds: 'X26', consultationId: 'cons-1', sendInOneActivity: true });
});
