import { parseRequestCounts, requestsPerMessage } from '../../../bench/lib/server-requests';

const node = (start: number, signals: number, visibility: number): string =>
  [
    '# HELP service_requests service_requests counter',
    '# TYPE service_requests counter',
    `service_requests{namespace="bench",operation="StartWorkflowExecution",service_name="frontend"} ${start}`,
    `service_requests{namespace="bench",operation="SignalWorkflowExecution",service_name="frontend"} ${signals}`,
    // Internal calls between services are not what clients asked for.
    `service_requests{namespace="bench",operation="RecordWorkflowTaskStarted",service_name="history"} 999`,
    `persistence_requests{namespace="bench",operation="UpdateWorkflowExecution",service_name="history"} ${signals * 2}`,
    `persistence_requests{namespace="bench",operation="UpdateWorkflowExecution",service_name="matching"} 1`,
    `task_requests{namespace="bench",operation="VisibilityTaskUpsertExecution",task_type="VisibilityTaskUpsertExecution"} ${visibility}`,
    'service_requests_total 5',
  ].join('\n');

describe('server request counts', () => {
  it('sums counters by operation, only the frontend for client calls, across nodes', () => {
    const counts = parseRequestCounts([node(10, 20, 3), node(5, 4, 1)]);
    expect(counts.frontend).toEqual({ StartWorkflowExecution: 15, SignalWorkflowExecution: 24 });
    expect(counts.persistence).toEqual({ UpdateWorkflowExecution: 50 });
    expect(counts.tasks).toEqual({ VisibilityTaskUpsertExecution: 4 });
  });

  it('names the service and namespace of each call when asked', () => {
    const counts = parseRequestCounts([node(1, 2, 3)], true);
    expect(counts.persistence).toEqual({ 'UpdateWorkflowExecution@history/bench': 4, 'UpdateWorkflowExecution@matching/bench': 1 });
    expect(counts.frontend).toEqual({ 'StartWorkflowExecution@frontend/bench': 1, 'SignalWorkflowExecution@frontend/bench': 2 });
  });

  it('gives calls per message between two readings, largest first, without the rare ones', () => {
    const before = parseRequestCounts([node(0, 0, 0)]);
    const after = parseRequestCounts([node(100, 200, 301)]);
    after.frontend.DescribeNamespace = 2;
    const per = requestsPerMessage(before, after, 100);
    expect(Object.entries(per.frontend)).toEqual([
      ['SignalWorkflowExecution', 2],
      ['StartWorkflowExecution', 1],
    ]);
    expect(per.tasks).toEqual({ VisibilityTaskUpsertExecution: 3.01 });
    expect(per.persistence).toEqual({ UpdateWorkflowExecution: 4 });
  });
});
