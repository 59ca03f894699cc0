/**
 * Queries and updates of the inbound quarantine (workflows/quarantine.ts): the public API the HTTP API and
 * the CLI use. Wire names equal the stem and are stored in history: never rename one. Safe from Node code.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { QuarantineActionResult, QuarantineEntry, RerouteQuarantineInput, ResolveQuarantineInput } from '../contracts/inbound';

export const quarantineEntryQuery = defineQuery<QuarantineEntry>('quarantineEntry');
/** Send the quarantined message to a delivery workflow (and attempt); rejected unless the entry is open. */
export const rerouteQuarantineUpdate = defineUpdate<QuarantineActionResult, [RerouteQuarantineInput]>('rerouteQuarantine');
/** Close the entry without routing it, saying why (e.g. a report about a message another system sent). */
export const resolveQuarantineUpdate = defineUpdate<QuarantineActionResult, [ResolveQuarantineInput]>('resolveQuarantine');
