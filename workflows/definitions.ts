/**
 * Signals, queries and updates of the delivery workflow: the public API that the inbound router, the
 * HTTP API and the CLI use. The wire name equals the stem (STYLE.md §4). Safe to import from Node code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DeliveryState, Itk3ResponseReceived, MeshReportReceived } from '../contracts';

export const itk3ResponseSignal = defineSignal<[Itk3ResponseReceived]>('itk3Response');
export const meshReportSignal = defineSignal<[MeshReportReceived]>('meshReport');
export const stateQuery = defineQuery<DeliveryState>('state');
