/**
 * Activity options that several workflows share. One copy each, so a change to how hard we try to tell
 * a person, or to reach the content store, applies to every workflow at once.
 */
import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Telling a person (raise, remind, resolve an escalation). It retries without a limit: a notification
 * that cannot go out now must still go out once the channel is back.
 */
export const ESCALATION_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10 minutes' },
};

/** Content-store reads and writes: content problems come back as data; what is thrown (store unreachable) heals by retrying. */
export const STORE_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
