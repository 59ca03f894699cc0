// Test-only workflow for the codec and redaction tests: it carries a synthetic patient through its
// input, an activity and its result, and logs it under a redacted key.
import { log, proxyActivities } from '@temporalio/workflow';

export interface PatientEcho {
  patient: { nhsNumber: string; familyName: string };
}

const { echoPatient } = proxyActivities<{ echoPatient(input: PatientEcho): Promise<PatientEcho> }>({ startToCloseTimeout: '30s' });

export async function patientEchoWorkflow(input: PatientEcho): Promise<PatientEcho> {
  log.info('workflow received a patient', { patient: input.patient });
  return echoPatient(input);
}
