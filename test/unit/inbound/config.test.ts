/** Inbound configuration (config/inbound.ts): several mailboxes, their passwords, rematch delays. */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../../config/env';
import { inboundProblems, inboundSettings } from '../../../config/inbound';

const key = (): string => `k1:${randomBytes(32).toString('base64')}`;
const base = { STORE_KEYS: key(), ITK3_CODEC_KEYS: key(), ITK3_RECIPIENT_MAILBOX: 'X26ABC2' };

describe('inbound configuration', () => {
  it('polls the sending mailbox by default, with rematch delays of 30 s and 5 min', () => {
    const config = loadConfig(base);
    expect(inboundSettings(config.env)).toEqual({ mailboxes: [{ mailboxId: 'X26ABC1', password: 'password' }], rematchDelaysMs: [30_000, 300_000] });
    expect(config.pollIntervalMs).toBe(2_000);
  });

  it('adds extra mailboxes once each, with their own passwords', () => {
    const config = loadConfig({ ...base, MESH_MAILBOXES: 'X26ABC1, x26abc3', MESH_MAILBOX_PASSWORDS: 'X26ABC3:secret3', ITK3_QUARANTINE_REMATCH: '1s' });
    expect(inboundSettings(config.env)).toEqual({
      mailboxes: [
        { mailboxId: 'X26ABC1', password: 'password' },
        { mailboxId: 'X26ABC3', password: 'secret3' },
      ],
      rematchDelaysMs: [1_000],
    });
  });

  it('rematch "none" means raise at once; an empty value means the default', () => {
    expect(inboundSettings(loadConfig({ ...base, ITK3_QUARANTINE_REMATCH: 'none' }).env).rematchDelaysMs).toEqual([]);
    expect(inboundSettings(loadConfig({ ...base, ITK3_QUARANTINE_REMATCH: '' }).env).rematchDelaysMs).toEqual([30_000, 300_000]);
  });

  it('reports every problem at once and never echoes a password', () => {
    const problems = inboundProblems({
      ITK3_MODE: 'production',
      MESH_MAILBOX_ID: 'X26ABC1',
      MESH_MAILBOX_PASSWORD: 'p',
      MESH_MAILBOXES: 'X26ABC3,X26ABC4,X26ABC4',
      MESH_MAILBOX_PASSWORDS: 'X26ABC3:s3cr3t',
      ITK3_QUARANTINE_REMATCH: 'soon',
    });
    expect(problems.map(([k]) => k).sort()).toEqual(['ITK3_QUARANTINE_REMATCH', 'MESH_MAILBOXES', 'MESH_MAILBOX_PASSWORDS'].sort());
    expect(JSON.stringify(problems)).not.toContain('s3cr3t');
    expect(() => loadConfig({ ...base, MESH_MAILBOXES: 'lower!', MESH_MAILBOX_PASSWORDS: 'X26ABC3' })).toThrow(ConfigError);
    try {
      loadConfig({ ...base, MESH_MAILBOX_PASSWORDS: 'X26ABC3' });
    } catch (err) {
      expect((err as ConfigError).problems.join('\n')).toMatch(/MESH_MAILBOX_PASSWORDS: entry 1 must be MAILBOX:password/);
    }
  });
});
