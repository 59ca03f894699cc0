/**
 * Signals and queries of the consultation workflow (workflows/consultation.ts): the public API that the
 * HTTP API, the CLI and tests use. Wire names equal the stem and are stored in history: never rename one.
 * Safe to import from Node code. Payload schemas live in contracts/consultation.ts; clients parse with
 * them before sending, because the workflow trusts what it receives.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ConsultationEvent, ConsultationView } from '../contracts/consultation';

/** Every event of a consultation's life, for signal-with-start. Idempotent on `eventId`. */
export const consultationEventSignal = defineSignal<[ConsultationEvent]>('consultationEvent');

/** The consultation, its versions and their delivery outcomes. */
export const consultationViewQuery = defineQuery<ConsultationView>('consultationView');
