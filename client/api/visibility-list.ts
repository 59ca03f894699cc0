/**
 * Listing workflows through Temporal visibility one execution at a time, so that one entry whose memo
 * cannot be decoded (written under a codec key since retired, or by another deployment sharing the
 * namespace) is reported as such instead of failing the whole listing. The SDK's `client.workflow.list()`
 * decodes every memo inside its iterator and throws on the first failure, which would turn an operator's
 * whole quarantine or consultation list into a 500.
 *
 * Search attributes are never encoded by the payload codec, so an undecodable entry still has its id,
 * type, status and search attributes; only its memo is missing.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { AesGcmPayloadCodec, METADATA_KEY_ID } from '../../payload-codec/aes-gcm-codec';
import { UNDECODABLE_MESSAGE, type Undecodable } from '../lib/api-schemas';

export interface ListedExecution {
  /** Its `memo` is undefined when `undecodable` is set. */
  info: WorkflowExecutionInfo;
  undecodable?: Undecodable;
}

type RawInfo = temporal.api.workflow.v1.IWorkflowExecutionInfo;

const keyIdsOf = (raw: RawInfo): string[] =>
  [...new Set(Object.values(raw.memo?.fields ?? {}).map((p) => Buffer.from(p.metadata?.[METADATA_KEY_ID] ?? []).toString('utf8') || 'none'))].sort();

const configuredKeyIds = (client: Pick<Client, 'options'>): string[] =>
  client.options.loadedDataConverter.payloadCodecs.flatMap((c) => (c instanceof AesGcmPayloadCodec ? c.keyIds : []));

/**
 * Every execution matching `query`, page by page, up to `limit`. An execution whose memo fails to decode
 * is yielded without its memo and with `undecodable` set, and logged with its workflow id and key ids;
 * never with the error's message, which for a payload that decrypted but did not parse may quote content.
 */
export async function* listExecutions(
  client: Pick<Client, 'workflowService' | 'options'>,
  opts: { query: string; pageSize: number; limit: number },
  logger: Pick<Logger, 'warn'>,
): AsyncGenerator<ListedExecution> {
  const namespace = client.options.namespace;
  const converter = client.options.loadedDataConverter;
  let nextPageToken: Uint8Array = Buffer.alloc(0);
  let listed = 0;
  for (;;) {
    const res = await client.workflowService.listWorkflowExecutions({ namespace, query: opts.query, pageSize: opts.pageSize, nextPageToken });
    for (const raw of res.executions) {
      let entry: ListedExecution;
      try {
        entry = { info: await executionInfoFromRaw(raw, converter, raw, namespace) };
      } catch (err) {
        const keyIds = keyIdsOf(raw);
        // The same record without its memo (a copy keeping the proto's defaults): the rest is plaintext.
        const bare = Object.assign(Object.create(Object.getPrototypeOf(raw) as object) as RawInfo, raw, { memo: null });
        entry = { info: { ...(await executionInfoFromRaw(bare, converter, raw, namespace)), memo: undefined }, undecodable: { message: UNDECODABLE_MESSAGE, keyIds } };
        logger.warn(
          {
            workflowId: raw.execution?.workflowId,
            runId: raw.execution?.runId,
            workflowType: raw.type?.name,
            keyIds,
            configuredKeyIds: configuredKeyIds(client),
            errorType: err instanceof Error ? err.name : typeof err,
          },
          `a listed workflow's memo ${UNDECODABLE_MESSAGE}; listed without it`,
        );
      }
      yield entry;
      if (++listed >= opts.limit) return;
    }
    if (!res.nextPageToken || res.nextPageToken.length === 0) return;
    nextPageToken = res.nextPageToken;
  }
}
