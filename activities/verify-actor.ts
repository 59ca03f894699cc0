import type { VerifyActorTokenInput, VerifyActorTokenResult } from '../contracts';
import { verifyActorToken } from './actor-token';
import type { ActivityDeps } from './deps';

/** The activity that checks operator-update actor tokens for the workflows. */
export function createActorTokenActivities(deps: Pick<ActivityDeps, 'config' | 'logger'>) {
  return {
    /**
     * Checks the actor token an operator update carried (activities/actor-token.ts); the workflow sandbox
     * has no crypto. Pure and local: never fails, never retried; an invalid token is an answer, not an error.
     */
    async verifyActorToken(input: VerifyActorTokenInput): Promise<VerifyActorTokenResult> {
      const keys = deps.config.actorKeys;
      const check =
        typeof input.token !== 'string' ? ({ valid: false, reason: 'no valid token' } as const)
        : !keys ? ({ valid: false, reason: 'invalid token: no actor keys configured' } as const)
        : verifyActorToken(keys, input.token, { workflowId: input.workflowId, update: input.update, now: input.at, ...(input.namespace !== undefined ? { namespace: input.namespace } : {}), input: input.input });
      if (check.valid) return { verified: true, principal: check.principal };
      const reason = check.reason.startsWith('no valid token') || check.reason.startsWith('invalid token') ? check.reason : `invalid token: ${check.reason}`;
      deps.logger.warn({ workflowId: input.workflowId, update: input.update, claimedActor: input.claimedActor, reason }, 'unverified actor on an operator update');
      return { verified: false, reason };
    },
  };
}
