/**
 * Mutual TLS to Temporal (TEMPORAL_TLS_*): all or nothing, files that exist and are PEM, specific errors
 * naming the variable and never a file's content; and the one builder every process uses turns them
 * into the connection options of both Connection and NativeConnection.
 */
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../../../config/env';
import { temporalConnectionOptions } from '../../../worker/compose';
import { certKit } from '../../helpers/certs';
import { configProblems, newKey } from '../../helpers/config-problems';

const key = newKey;
const base = { STORE_KEYS: `s1:${key()}`, ITK3_RECIPIENT_MAILBOX: 'X26ABC2', ITK3_CODEC_KEYS: `c1:${key()}` };
const kit = certKit('itk3-temporal-tls-');
kit.ca('ca');
kit.cert('worker', 'ca');
writeFileSync(kit.file('not-pem.txt'), 'hello');

const problems = (env: Record<string, string>): string[] => configProblems({ ...base, ...env });

describe('TEMPORAL_TLS_* configuration', () => {
  const good = { TEMPORAL_TLS_CERT: kit.file('worker.crt'), TEMPORAL_TLS_KEY: kit.file('worker.key'), TEMPORAL_TLS_CA: kit.file('ca.crt') };

  it('accepts a readable certificate, key and CA, and builds mutual-TLS connection options from them', () => {
    const config = loadConfig({ ...base, ...good, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal', TEMPORAL_ADDRESS: 'temporal.internal:7233' });
    const options = temporalConnectionOptions(config.env);
    expect(options.address).toBe('temporal.internal:7233');
    expect(options.tls?.clientCertPair.crt.toString()).toContain('BEGIN CERTIFICATE');
    expect(options.tls?.clientCertPair.key.toString()).toMatch(/BEGIN (RSA )?PRIVATE KEY/);
    expect(options.tls?.serverRootCACertificate?.toString()).toContain('BEGIN CERTIFICATE');
    expect(options.tls?.serverNameOverride).toBe('temporal.internal');
  });

  it('connects in plaintext when no TEMPORAL_TLS_* is set (the local dev server)', () => {
    expect(temporalConnectionOptions(loadConfig(base).env)).toEqual({ address: '127.0.0.1:7233' });
  });

  it('refuses a certificate without its key, a key without its certificate, and a CA or server name alone', () => {
    expect(problems({ TEMPORAL_TLS_CERT: good.TEMPORAL_TLS_CERT })).toEqual(['TEMPORAL_TLS_KEY: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS needs both)']);
    expect(problems({ TEMPORAL_TLS_KEY: good.TEMPORAL_TLS_KEY })).toEqual(['TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS needs both)']);
    expect(problems({ TEMPORAL_TLS_CA: good.TEMPORAL_TLS_CA })).toEqual(['TEMPORAL_TLS_CA: needs TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mutual TLS to Temporal)']);
    expect(problems({ TEMPORAL_TLS_SERVER_NAME: 'x' })).toEqual(['TEMPORAL_TLS_SERVER_NAME: needs TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mutual TLS to Temporal)']);
  });

  it('names each missing or unusable file, all at once, without echoing any content', () => {
    const found = problems({ TEMPORAL_TLS_CERT: kit.file('absent.crt'), TEMPORAL_TLS_KEY: kit.file('not-pem.txt'), TEMPORAL_TLS_CA: kit.file('worker.key') });
    expect(found).toEqual([
      'TEMPORAL_TLS_CERT: cannot read the file (ENOENT)',
      'TEMPORAL_TLS_KEY: is not a PEM private key file',
      'TEMPORAL_TLS_CA: is not a PEM certificate file',
    ]);
    expect(found.join()).not.toContain('hello');
  });

  it('the builder refuses half a pair even when called without the schema (the set-up script)', () => {
    expect(() => temporalConnectionOptions({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CERT: good.TEMPORAL_TLS_CERT })).toThrow('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together');
    expect(() => temporalConnectionOptions({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CERT: kit.file('gone.crt'), TEMPORAL_TLS_KEY: good.TEMPORAL_TLS_KEY })).toThrow('TEMPORAL_TLS_CERT: cannot read the file (ENOENT)');
    expect(temporalConnectionOptions({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' })).toEqual({ address: 'x:1' });
  });
});

describe('inbound and codec size limits, actor keys', () => {
  it('has safe defaults and bounds, and the decoded limit is not below the compressed one', () => {
    const c = loadConfig(base);
    expect(c.env.MESH_INBOUND_MAX_COMPRESSED_BYTES).toBe(10 * 1024 * 1024);
    expect(c.env.MESH_INBOUND_MAX_BYTES).toBe(20 * 1024 * 1024);
    expect(c.env.ITK3_CODEC_BODY_LIMIT).toBe(4 * 1024 * 1024);
    expect(problems({ ITK3_CODEC_BODY_LIMIT: '10' })).toEqual([
      'ITK3_CODEC_BODY_LIMIT: must be at least 1024 bytes',
    ]);
    expect(problems({ MESH_INBOUND_MAX_BYTES: '2048', MESH_INBOUND_MAX_COMPRESSED_BYTES: '4096' })).toEqual([
      'MESH_INBOUND_MAX_BYTES: must be at least MESH_INBOUND_MAX_COMPRESSED_BYTES (decoding never makes a message smaller)',
    ]);
  });

  it('reads ITK3_ACTOR_KEYS (first signs), derives separate local keys without it, and requires it in production', () => {
    const c = loadConfig({ ...base, ITK3_ACTOR_KEYS: `a2:${key()},a1:${key()}` });
    expect(c.actorKeys.activeKeyId).toBe('a2');
    const local = loadConfig(base);
    expect(local.actorKeys.activeKeyId).toBe('c1-actor');
    expect(local.actorKeys.keys.get('c1-actor')!.equals(local.codecKeys.keys.get('c1')!)).toBe(false);
    expect(problems({ ITK3_ACTOR_KEYS: 'a1:short' })).toEqual(['ITK3_ACTOR_KEYS: each entry must be keyId:base64 of 32 bytes, key ids unique']);
    expect(problems({ ITK3_MODE: 'production', MESH_URL: 'https://mesh.example', MESH_CLIENT_CERT: 'c', MESH_CLIENT_KEY: 'k', ITK3_API_TOKENS: 'a:operator:0123456789abcdef' })).toContain(
      'ITK3_ACTOR_KEYS: production needs ITK3_ACTOR_KEYS (operator updates carry a signed actor token)',
    );
  });
});
