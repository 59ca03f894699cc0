import { buildAuthorizationHeader, formatMeshTimestamp } from '../../../mesh';

describe('buildAuthorizationHeader', () => {
  it('matches the MESH API reference test vector', () => {
    expect(
      buildAuthorizationHeader({
        mailboxId: 'X26ABC1',
        password: 'password',
        sharedKey: 'TestKey',
        nonce: '5f0a2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b',
        nonceCount: 1,
        timestamp: new Date(Date.UTC(2026, 0, 15, 10, 30, 59)),
      }),
    ).toBe(
      'NHSMESH X26ABC1:5f0a2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b:1:202601151030:d718303bd9db066a50e1a82b4ce45caa31a43d4a2244103660051b8d9efde9ad',
    );
  });

  it('upper-cases the mailbox id in both the header and the HMAC', () => {
    const args = { password: 'password', sharedKey: 'TestKey', nonce: 'n', nonceCount: 0, timestamp: new Date(0) };
    expect(buildAuthorizationHeader({ ...args, mailboxId: 'x26abc1' })).toBe(buildAuthorizationHeader({ ...args, mailboxId: 'X26ABC1' }));
  });

  it('formats the timestamp in UTC whatever the local zone', () => {
    expect(formatMeshTimestamp(new Date('2026-03-29T00:59:00+01:00'))).toBe('202603282359');
  });

  it('rejects nonces that would break the colon-separated format and bad counts', () => {
    const base = { mailboxId: 'X', password: 'p', sharedKey: 'k', timestamp: new Date(0) };
    expect(() => buildAuthorizationHeader({ ...base, nonce: 'a:b', nonceCount: 0 })).toThrow(RangeError);
    expect(() => buildAuthorizationHeader({ ...base, nonce: 'a', nonceCount: -1 })).toThrow(RangeError);
  });
});
