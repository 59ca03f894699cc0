/**
 * A deliberately changed delivery workflow, for the replay guard test only: it arms a timer before
 * doing what the real workflow does, the kind of edit that breaks every run already in flight. Replaying
 * a recorded history against it must fail with a determinism error; if it ever passes, the replay tests
 * prove nothing.
 */
import { sleep } from '@temporalio/workflow';
import type { DeliveryResult, SendDocumentInput } from '../../contracts';
import { sendDocumentWorkflow as current } from '../../workflows/send-document';

export async function sendDocumentWorkflow(input: SendDocumentInput): Promise<DeliveryResult> {
  await sleep('1 second');
  return current(input);
}
