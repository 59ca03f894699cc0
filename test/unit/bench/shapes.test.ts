import { cpuOf, priceShapes, shapesOf } from '../../../bench/shapes-bench';
import { deliveryPairs, deliveryStartOptions } from '../../../bench/baseline-attributes';
import * as SA from '../../../contracts/search-attributes';

describe('pricing a baseline shape by difference from the plain runs', () => {
  const plainA = cpuOf({ cpuMsPerMessage: { worker: 20, temporal: 50, meshSandbox: 0.2 } });
  const plainB = cpuOf({ cpuMsPerMessage: { worker: 22, temporal: 54 } });

  it('sums only the worker and the server, the processes a shape can change', () => {
    expect(plainA).toEqual({ worker: 20, temporal: 50, total: 70 });
  });

  it('prices each shape against the mean of the plain runs, per process', () => {
    const priced = priceShapes([plainA, plainB], { upserts: { worker: 21, temporal: 60, total: 81, events: 24 } }, 21);
    expect(priced.plainCpuMsPerWorkflow).toEqual({ worker: 21, temporal: 52, total: 73 });
    expect(priced.shapes.upserts!.differenceMs).toEqual({ worker: 0, temporal: 8, total: 8 });
    expect(priced.shapes.upserts!.eventsDifference).toBe(3);
  });

  it('reports the plain runs\' spread as the noise a difference must beat', () => {
    expect(priceShapes([plainA, plainB, cpuOf({ cpuMsPerMessage: { worker: 19, temporal: 49 } })], {}, 20).noiseMs).toBe(8);
  });

  it('a saving shows as a negative difference', () => {
    const priced = priceShapes([plainA], { one: { worker: 15, temporal: 40, total: 55, events: 15 } }, 21);
    expect(priced.shapes.one!.differenceMs.total).toBe(-15);
    expect(priced.shapes.one!.eventsDifference).toBe(-6);
  });

  it('offers the delivery\'s extras and the two redesigns, with the payload size asked for', () => {
    const shapes = shapesOf(700);
    expect(Object.values(shapes)).toEqual(expect.arrayContaining([{ activities: 1 }, { batchedAcks: true }, { payloadBytes: 700 }, { upserts: 2, heartbeat: true, payloadBytes: 700 }]));
  });
});

describe('the delivery\'s visibility writes, as the baseline shape makes them', () => {
  const id = 'baseline-0b5e6a8e-4f7a-4d2b-9c55-2f6d3b1e9a10';
  const keys = (pairs: ReturnType<typeof deliveryPairs>): string[] => pairs.map((p) => p.key.name).sort();

  it('starts with the attributes the API starts a delivery with', () => {
    const api = [...SA.firstAttemptSearchAttributes({ recipientOds: 'A99968', senderOds: 'Y99999', messageHeaderId: 'x' }), { key: SA.SenderReferenceKey, value: 'h' }];
    expect(keys(deliveryStartOptions(id).typedSearchAttributes)).toEqual(keys(api as ReturnType<typeof deliveryPairs>));
    expect(deliveryStartOptions(id).staticDetails?.length).toBeGreaterThan(500);
  });

  it('upserts the full set a delivery publishes, keyword lists and the deadline included, and clears the deadline at the end', () => {
    const sent = deliveryPairs(id, 'SENT');
    expect(keys(sent)).toEqual(
      [SA.DeliveryStatusKey, SA.WaitingForKey, SA.EscalatedKey, SA.AttemptCountKey, SA.Itk3MessageIdKey, SA.Itk3MessageIdsKey, SA.MeshMessageIdKey, SA.MeshMessageIdsKey, SA.RecipientOdsKey, SA.SenderOdsKey, SA.AckDeadlineKey]
        .map((k) => k.name)
        .sort(),
    );
    expect(sent.find((p) => p.key.name === 'AckDeadline')?.value).toBeInstanceOf(Date);
    expect(deliveryPairs(id, 'DELIVERED').find((p) => p.key.name === 'AckDeadline')?.value).toBeNull();
    expect(shapesOf(1000)).toEqual(expect.objectContaining({ 'the delivery\'s search attributes and start metadata': { deliverySearchAttributes: true } }));
  });

  it('leaves out the keyword lists, or the Web UI metadata, for the two variants that price the rest', () => {
    expect(keys(deliveryPairs(id, 'SENT', 'without keyword lists'))).not.toEqual(expect.arrayContaining(['Itk3MessageIds']));
    expect(keys(deliveryPairs(id, 'SENT', 'without keyword lists'))).not.toContain('MeshMessageIds');
    expect(keys(deliveryPairs(id, 'SENT', 'without keyword lists'))).toHaveLength(9);
    expect(deliveryStartOptions(id, 'without start metadata')).toEqual({ typedSearchAttributes: deliveryPairs(id, 'START') });
  });
});
