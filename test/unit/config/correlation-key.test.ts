/** ITK3_CORRELATION_KEY: the key of the SenderReference search attribute, required in production. */
import { loadConfig } from '../../../config/env';
import { activityConfig } from '../../../worker/compose';
import { configProblems, newKey } from '../../helpers/config-problems';

const key = newKey;
const base = { STORE_KEYS: `s1:${key()}`, ITK3_RECIPIENT_MAILBOX: 'X26ABC2', ITK3_CODEC_KEYS: `c1:${key()}` };
const production = { ITK3_MODE: 'production', MESH_URL: 'https://mesh.example', MESH_CLIENT_CERT: 'c', MESH_CLIENT_KEY: 'k', ITK3_API_TOKENS: 'ops:operator:0123456789abcdef', ITK3_ACTOR_KEYS: `a1:${key()}` };

const problems = (env: Record<string, string>): string[] => configProblems({ ...base, ...env });

describe('ITK3_CORRELATION_KEY', () => {
  it('is required in production, and never echoed when too short', () => {
    expect(problems(production)).toEqual([expect.stringContaining('ITK3_CORRELATION_KEY: is required in production')]);
    const short = problems({ ...production, ITK3_CORRELATION_KEY: 'tooshort-secret' });
    expect(short.join()).toContain('ITK3_CORRELATION_KEY: must be at least 32 characters');
    expect(short.join()).not.toContain('tooshort-secret');
    expect(problems({ ...production, ITK3_CORRELATION_KEY: key() })).toEqual([]);
  });

  it('is optional in local mode and reaches the API and the worker through the activity config', () => {
    expect(activityConfig(loadConfig(base)).correlationKey).toBeUndefined();
    const k = key();
    expect(activityConfig(loadConfig({ ...base, ITK3_CORRELATION_KEY: k })).correlationKey).toBe(k);
  });
});
