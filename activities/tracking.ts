/**
 * MESH outbox tracking of one sent attempt (MESH API v2 "Track an outbox message"). The delivery workflow asks once per attempt, when the infrastructure acknowledgement is
 * overdue (GPCM-SD-095): if MESH itself says the message is undeliverable, the workflow escalates with
 * MESH's code as it would for a MESH REPORT, instead of waiting for a report that may come days later.
 * MESH asks that tracking is not polled and is no substitute for an acknowledgement; it is neither here.
 */
import type { Logger } from 'pino';
import type { TrackMeshMessageInput, TrackMeshMessageResult } from '../contracts';
import type { MeshClient } from '../mesh';

export interface TrackingDeps {
  mesh: Pick<MeshClient, 'trackMessage'>;
  logger: Logger;
  now: () => Date;
}

export function createTrackingActivities(deps: TrackingDeps) {
  return {
    /** MESH's status of one sent attempt; typed MESH errors (404 unknown id, auth, ...) reach the workflow by type. */
    async trackMeshMessage(input: TrackMeshMessageInput): Promise<TrackMeshMessageResult> {
      const t = await deps.mesh.trackMessage(input.meshMessageId);
      const result: TrackMeshMessageResult = { status: (t.status ?? 'unknown').toLowerCase(), checkedAt: deps.now().toISOString() };
      if (t.status_code) result.statusCode = t.status_code;
      if (t.status_description) result.statusDescription = t.status_description;
      if (t.status_event) result.statusEvent = t.status_event;
      deps.logger.info({ meshMessageId: input.meshMessageId, attempt: input.attempt, status: result.status, statusCode: result.statusCode }, 'MESH outbox tracking');
      return result;
    },
  };
}
