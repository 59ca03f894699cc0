/**
 * The helpers `npm run up` and `npm run cluster` share: a local secret is made once and reused (0600, the
 * environment wins), every secret the processes share is kept that way (actor and correlation keys too), a child that dies is reported at once rather than as a timeout, and a child that
 * ignores SIGTERM is killed after the grace period.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseKeyRing } from '../../../config/env';
import { localAppSecrets, localSecret, localSettings, newLocalApiTokens, tokenOf, waitUntil } from '../../../scripts/lib/local-run';
import { stopChild } from '../../../scripts/lib/services';

describe('local-run helpers', () => {
  const ENV = 'ITK3_LOCAL_RUN_TEST_SECRET';
  afterEach(() => {
    delete process.env[ENV];
  });

  it('makes a secret once, keeps it 0600 and reuses it; the environment variable wins', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'local-run-')), 'data');
    let made = 0;
    const make = (): string => `secret-${++made}`;
    expect(localSecret(dir, ENV, 'f', make)).toBe('secret-1');
    expect(localSecret(dir, ENV, 'f', make)).toBe('secret-1');
    expect(made).toBe(1);
    expect(statSync(path.join(dir, 'f')).mode & 0o777).toBe(0o600);
    process.env[ENV] = 'from-env';
    expect(localSecret(dir, ENV, 'f', make)).toBe('from-env');
  });

  describe('localAppSecrets', () => {
    const NAMES = ['STORE_KEYS', 'ITK3_CODEC_KEYS', 'ITK3_ACTOR_KEYS', 'ITK3_CORRELATION_KEY', 'ITK3_API_TOKENS'] as const;
    const FILES = ['local-store-keys', 'local-codec-keys', 'local-actor-keys', 'local-correlation-key', 'local-api-tokens'];
    const saved: Record<string, string | undefined> = {};
    beforeEach(() => {
      for (const n of NAMES) {
        saved[n] = process.env[n];
        delete process.env[n];
      }
    });
    afterEach(() => {
      for (const n of NAMES) {
        if (saved[n] === undefined) delete process.env[n];
        else process.env[n] = saved[n];
      }
    });

    it('makes every shared secret once, actor and correlation keys included, keeps each 0600 and gives the same ones back', () => {
      const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'local-secrets-')), 'data');
      const first = localAppSecrets(dir);
      expect(Object.keys(first).sort()).toEqual([...NAMES].sort());
      for (const f of FILES) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(dir, 'local-actor-keys'), 'utf8').trim()).toBe(first.ITK3_ACTOR_KEYS);
      expect(readFileSync(path.join(dir, 'local-correlation-key'), 'utf8').trim()).toBe(first.ITK3_CORRELATION_KEY);
      // What the services' configuration accepts: a key ring of 32-byte keys, a correlation key of 32+ characters.
      expect(parseKeyRing(first.ITK3_ACTOR_KEYS).keys.size).toBe(1);
      expect(first.ITK3_CORRELATION_KEY.length).toBeGreaterThanOrEqual(32);
      expect(first.ITK3_ACTOR_KEYS).not.toBe(first.ITK3_CODEC_KEYS);
      expect(localAppSecrets(dir)).toEqual(first);
    });

    it('takes a secret from the environment when it is set', () => {
      const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'local-secrets-')), 'data');
      process.env.ITK3_CORRELATION_KEY = 'k'.repeat(40);
      expect(localAppSecrets(dir).ITK3_CORRELATION_KEY).toBe('k'.repeat(40));
    });
  });

  it('reads the ports both commands share, with their documented defaults', () => {
    const saved = process.env.MESH_PORT;
    process.env.MESH_PORT = '18700';
    try {
      expect(localSettings()).toMatchObject({ meshPort: 18700, codecPort: Number(process.env.ITK3_CODEC_SERVER_PORT ?? 8888), namespace: process.env.TEMPORAL_NAMESPACE ?? 'courier' });
    } finally {
      if (saved === undefined) delete process.env.MESH_PORT;
      else process.env.MESH_PORT = saved;
    }
  });

  it('finds the token of a role in an API token list', () => {
    const tokens = newLocalApiTokens();
    const operator = tokenOf(tokens, 'operator');
    expect(operator.length).toBeGreaterThan(20);
    expect(tokens).toContain(`local-operator:operator:${operator}`);
    expect(tokenOf(tokens, 'submitter')).not.toBe(operator);
    expect(tokenOf(tokens, 'auditor')).toBe('');
  });

  it('reports a child that exits before it is healthy, not a timeout', async () => {
    const proc = spawn(process.execPath, ['-e', 'process.exit(3)']);
    await expect(waitUntil('quitter', proc, async () => false, 10_000)).rejects.toThrow('quitter exited with code 3');
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const proc = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);"]);
    await new Promise((r) => proc.stdout.once('data', r));
    await stopChild(proc, 'SIGTERM', 300);
    expect(proc.signalCode).toBe('SIGKILL');
  });
});
