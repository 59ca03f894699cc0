/**
 * The submission dry run: build the Send Document message a submission would become and read it back,
 * only to learn whether a receiver would have to reject it. The API (submissions, consultation saves)
 * and the activities that check stored corrections, replacements and consultation versions all ask this
 * one question, so they all ask it here, with the same build options and the same answer shape.
 */
import type { SpecProfile } from '../contracts/delivery';
import { CourierError, type Issue } from '../contracts/errors';
import type { Submission } from '../contracts/submission';
import { buildSendDocumentMessage, type BuiltMessage, type Routing } from './build-message';
import { buildRejected } from './errors';

/** The deployment settings a built message depends on (a subset of the activity configuration). */
export interface DryRunSettings {
  profile: SpecProfile;
  routing: Routing;
  maxMessageBytes?: number;
}

/**
 * Ids for a message that is never sent: valid, unique UUIDs of the same length as random ones (so the
 * size check sees the real size), without randomness, so the dry run stays as pure as the builder.
 */
function dryRunIds(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`;
}

/** A refusal's issues: never empty, so a caller never has to tell "valid" from "refused for no stated reason". */
function refusalIssues(err: CourierError): Issue[] {
  return err.issues.length > 0 ? err.issues : [{ message: `${err.type}: ${err.message}` }];
}

/**
 * What a receiver would reject in this submission, as issues (paths and requirement ids, never values);
 * empty when it can be sent. A refusal without issues still yields one issue naming its type. Anything
 * that is not a CourierError is a bug, not a refusal, and is rethrown.
 */
export function dryRunIssues(submission: Submission, settings: DryRunSettings, now: Date): Issue[] {
  const newId = dryRunIds();
  try {
    buildWith(submission, settings, now, { messageHeaderId: newId(), bundleIdentifier: newId() }, newId);
    return [];
  } catch (err) {
    if (!(err instanceof CourierError)) throw err;
    return refusalIssues(err);
  }
}

/** The dry run for callers that refuse by throwing: an `ITK3_BUILD_REJECTED` error carrying the issues. */
export function assertDryRun(submission: Submission, settings: DryRunSettings, now: Date): void {
  const issues = dryRunIssues(submission, settings, now);
  if (issues.length > 0) throw buildRejected('message refused: a receiver would reject it', issues);
}

/**
 * The dry run's question answered by the build that will be sent: the message with these ids, or the same
 * refusal `assertDryRun` gives. The API builds a delivery's first attempt so, once, and stores what it
 * checked for the worker to post.
 */
export function buildOrRefuse(
  submission: Submission,
  settings: DryRunSettings,
  now: Date,
  ids: { messageHeaderId: string; bundleIdentifier: string },
  newId: () => string,
): BuiltMessage {
  try {
    return buildWith(submission, settings, now, ids, newId);
  } catch (err) {
    if (!(err instanceof CourierError)) throw err;
    throw buildRejected('message refused: a receiver would reject it', refusalIssues(err));
  }
}

function buildWith(submission: Submission, settings: DryRunSettings, now: Date, ids: { messageHeaderId: string; bundleIdentifier: string }, newId: () => string): BuiltMessage {
  return buildSendDocumentMessage({
    submission,
    profile: settings.profile,
    ids,
    newId,
    now: now.toISOString(),
    routing: settings.routing,
    ...(settings.maxMessageBytes !== undefined ? { maxMessageBytes: settings.maxMessageBytes } : {}),
  });
}
