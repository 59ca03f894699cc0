/**
 * Telling a person (GPCM-SD-094/095 in 1.3.1 numbering): escalation activities. The log always;
 * further channels (webhook, email) are added here.
 */
import type { EscalationInput } from '../contracts';
import type { ActivityDeps } from './index';

export function createEscalationActivities(deps: Pick<ActivityDeps, 'logger'>) {
  return {
    async raiseEscalation(input: EscalationInput): Promise<void> {
      deps.logger.warn({ escalation: input }, `escalation ${input.kind.toLowerCase()}: ${input.reason}`);
    },
  };
}
