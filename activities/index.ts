/**
 * Activities: every effect on the world (content store, MESH, Temporal signals, notifications).
 * `createActivities(deps)` takes everything it touches as arguments, so tests can hand it real or fake
 * dependencies and workflows import only its type. This file only names what the folder offers.
 */
export { createActivities, type Activities } from './create';
export type { ActivityConfig, ActivityDeps } from './deps';
export { atEdge, atEdgeAll, toFailure } from './edge';
export { recipientMailboxLearner } from './recipient-mailbox';
export { createSendActivities, localDeadlineMs } from './send';
export type { StoredMessage } from './stored-message';
