import { Connection } from '@temporalio/client';
import { testServices } from '../../helpers/services';

describe('embedded services started by the global setup', () => {
  it('serves Temporal with the courier search attributes registered', async () => {
    const s = testServices();
    const connection = await Connection.connect({ address: s.temporalAddress });
    try {
      const attrs = await connection.operatorService.listSearchAttributes({ namespace: s.namespace });
      expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['DeliveryStatus', 'Itk3MessageIds', 'RecipientOds']));
    } finally {
      await connection.close();
    }
  });

  it('serves mesh-sandbox with full authentication (an unauthenticated inbox read is refused)', async () => {
    const s = testServices();
    const health = await fetch(`${s.meshUrl}/health`);
    expect(health.status).toBe(200);
    const inbox = await fetch(`${s.meshUrl}/messageexchange/X26ABC1/inbox`, { headers: { accept: 'application/vnd.mesh.v2+json' } });
    expect([400, 401, 403]).toContain(inbox.status);
  });
});
