/** The operator and integrator surface keys (API tokens, API TLS, codec keys): every problem reported at once, no secret echoed. */
import { loadConfig, parseApiTokens, parseKeyRing } from '../../../config/env';
import { configProblems, newKey } from '../../helpers/config-problems';

const key = newKey;
const base = { STORE_KEYS: `s1:${key()}`, ITK3_RECIPIENT_MAILBOX: 'X26ABC2', ITK3_CODEC_KEYS: `c2:${key()},c1:${key()}` };

const problems = (env: Record<string, string>): string[] => configProblems({ ...base, ...env });

describe('operator and integrator surface configuration', () => {
  it('parses codec keys (first encrypts), tokens and client-certificate roles', () => {
    const c = loadConfig({ ...base, ITK3_API_TOKENS: 'alice:operator:0123456789abcdef,billing:submitter:fedcba9876543210', ITK3_API_TLS_CERT: 'c', ITK3_API_TLS_KEY: 'k', ITK3_API_TLS_CA: 'ca', ITK3_API_CLIENT_CERT_ROLES: 'oncall-console:operator' });
    expect(c.codecKeys.activeKeyId).toBe('c2');
    expect([...c.codecKeys.keys.keys()]).toEqual(['c2', 'c1']);
    expect(c.apiTokens.map((t) => `${t.name}:${t.role}`)).toEqual(['alice:operator', 'billing:submitter']);
    expect(c.clientCertRoles.get('oncall-console')).toBe('operator');
    expect(c.env.ITK3_ESCALATION_WEBHOOK_TIMEOUT).toBe(10_000);
  });

  it('reports every problem together and never echoes a secret', () => {
    const secret = 'tiny';
    const found = problems({
      ITK3_CODEC_KEYS: 'c1:notbase64ofthirtytwo',
      ITK3_API_TOKENS: `alice:admin:${secret}`,
      ITK3_ESCALATION_WEBHOOK_URL: 'https://hooks.example/itk3',
      ITK3_SMTP_URL: 'http://not-smtp',
      ITK3_API_CLIENT_CERT_ROLES: 'cn:operator',
    });
    const text = found.join('\n');
    for (const k of ['ITK3_CODEC_KEYS', 'ITK3_API_TOKENS', 'ITK3_ESCALATION_WEBHOOK_SECRET', 'ITK3_SMTP_URL', 'ITK3_API_CLIENT_CERT_ROLES']) expect(text).toContain(k);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('notbase64ofthirtytwo');
  });

  it('requires codec keys, and authentication in production', () => {
    expect(problems({ ITK3_CODEC_KEYS: '' }).join()).toContain('ITK3_CODEC_KEYS');
    const prod = problems({ ITK3_MODE: 'production', MESH_URL: 'https://mesh.example', MESH_CLIENT_CERT: 'c', MESH_CLIENT_KEY: 'k' });
    expect(prod.join()).toContain('ITK3_API_TOKENS: production needs ITK3_API_TOKENS or mutual TLS');
  });

  it('rejects duplicate key ids and duplicate token names', () => {
    const k = key();
    expect(problems({ ITK3_CODEC_KEYS: `a:${k},a:${k}` }).join()).toContain('ITK3_CODEC_KEYS');
    expect(() => parseApiTokens('a:operator:0123456789abcdef,a:submitter:0123456789abcdef')).toThrow('entry 2 repeats the name a');
    expect(parseKeyRing(`x:${k}`).activeKeyId).toBe('x');
  });
});
