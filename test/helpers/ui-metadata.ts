/** What the Temporal Web UI shows of a workflow, read the way the UI reads it, for tests that check it. */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { PATIENTS } from '../fixtures/itk3/submissions';

/** The current details (the SDK's built-in metadata query, which the UI calls). */
export async function currentDetails(handle: WorkflowHandle): Promise<string> {
  const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return meta.currentDetails ?? '';
}

/** Every user-metadata summary in the workflow's history (timers, activities, child workflows). */
export async function historySummaries(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const payload = e.userMetadata?.summary;
    return payload ? [defaultPayloadConverter.fromPayload<string>(payload)] : [];
  });
}

/** A synthetic patient's identifiers, which must never reach what the Web UI shows. */
export const PATIENT_VALUES = [PATIENTS.ada.nhsNumber, PATIENTS.ada.givenName, PATIENTS.ada.familyName, PATIENTS.ada.birthDate];
