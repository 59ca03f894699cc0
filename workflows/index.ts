// Workflow functions only: this module is what the worker bundles.
export { sendDocumentWorkflow } from './send-document';
export { meshInboxPollerWorkflow } from './inbox-poller';
export { inboundQuarantineWorkflow } from './quarantine';
export { consultationWorkflow } from './consultation';
