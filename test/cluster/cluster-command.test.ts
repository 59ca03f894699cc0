/**
 * `npm run cluster` (dist/scripts/cluster.js) as a user runs it: everything comes up on the ports the
 * environment names, the printed URLs answer, a document goes through to DELIVERED, the Web UI is
 * pointed at our codec server, and Ctrl-C stops every process it started (the ports are free again).
 * Also checks the shared dynamic configuration against the server binary.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CourierHttpClient } from '../../client/lib/http-client';
import { syntheticSubmission } from '../../bench/lib/courier-system';
import { CONFIG_DIR, toolsDir } from '../../scripts/lib/cluster';
import { REPO_ROOT, assertPortFree, freePort } from '../../scripts/lib/services';

jest.setTimeout(10 * 60_000);

const portFree = (port: number): Promise<boolean> => assertPortFree(port, '127.0.0.1', 'check').then(() => true, () => false);

/**
 * Consecutive free ports (the workers' metrics ports follow ITK3_WORKER_METRICS_PORT), none of `taken`.
 * Drawn below Linux's ephemeral range (32768 up), where no outgoing connection can take one between
 * this check and the worker's listen.
 */
async function freeRun(n: number, taken: number[]): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.some((p) => p >= base && p < base + n)) continue;
    const all = await Promise.all(Array.from({ length: n }, (_, i) => portFree(base + i)));
    if (all.every(Boolean)) return base;
  }
}

/** Command line and environment of every direct child of `pid` (Linux /proc). */
function childEnvironments(pid: number): Array<{ cmdline: string; env: Record<string, string> }> {
  const out: Array<{ cmdline: string; env: Record<string, string> }> = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The parent pid is the second field after the command name, which is in parentheses and may hold spaces.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      const env = Object.fromEntries(readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      out.push({ cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' '), env });
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

describe('npm run cluster', () => {
  it('passes the server\'s own check of the shared dynamic configuration', () => {
    const r = spawnSync(path.join(toolsDir(), 'bin', 'temporal-server'), ['validate-dynamic-config', path.join(CONFIG_DIR, 'dynamic-config.yaml')], { encoding: 'utf8' });
    expect(`${r.status} ${r.stdout}`).not.toMatch(/error|warning/);
    expect(r.status).toBe(0);
  });

  it('refuses two roles on one port before starting anything', async () => {
    const port = await freePort();
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'scripts', 'cluster.js')], {
      env: { ...process.env, TEMPORAL_PORT: String(port), ITK3_API_PORT: String(port), ITK3_CLUSTER_DIR: mkdtempSync(path.join(os.tmpdir(), 'itk3-cluster-clash-')) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`are both port ${port}`);
    expect(r.stdout).not.toContain('starting PostgreSQL');
  });

  it('brings everything up, prints URLs that answer, delivers a document, and stops everything on Ctrl-C', async () => {
    const some = {
      TEMPORAL_PORT: await freePort(),
      TEMPORAL_UI_PORT: await freePort(),
      MESH_PORT: await freePort(),
      ITK3_API_PORT: await freePort(),
      ITK3_CODEC_SERVER_PORT: await freePort(),
      ITK3_POSTGRES_PORT: await freePort(),
    };
    const ports = { ...some, ITK3_WORKER_METRICS_PORT: await freeRun(3, Object.values(some)) };
    const operator = randomBytes(24).toString('base64url');
    // The actor and correlation keys are left to the command: it must make them once and keep them here.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'itk3-cluster-data-'));
    const { ITK3_ACTOR_KEYS: _actor, ITK3_CORRELATION_KEY: _correlation, ...inherited } = process.env;
    const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'scripts', 'cluster.js')], {
      env: {
        ...inherited,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        ITK3_DATA_DIR: dataDir,
        ITK3_CLUSTER_DIR: mkdtempSync(path.join(os.tmpdir(), 'itk3-cluster-command-')),
        ITK3_API_TOKENS: `t-operator:operator:${operator}`,
        STORE_KEYS: `t1:${randomBytes(32).toString('base64')}`,
        ITK3_CODEC_KEYS: `t1:${randomBytes(32).toString('base64')}`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 5 * 60_000;
      while (!out.includes('Press Ctrl-C to stop.')) {
        if (proc.exitCode !== null) throw new Error(`npm run cluster exited early:\n${out.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`not up within 5 minutes:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(out).toContain(`http://127.0.0.1:${ports.ITK3_API_PORT}`);
      expect(out).toContain(`Temporal Web UI http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/namespaces/courier/workflows`);
      expect(out).toContain(`Temporal gRPC   127.0.0.1:${ports.TEMPORAL_PORT}`);
      expect(out).toMatch(/balancer over 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);

      // The Web UI (ui-server) is served and decodes through our codec server, with credentials.
      const ui = await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/api/v1/settings`);
      expect(ui.status).toBe(200);
      const settings = (await ui.json()) as { Codec?: { Endpoint?: string; IncludeCredentials?: boolean } };
      expect(settings.Codec?.Endpoint).toBe(`http://127.0.0.1:${ports.ITK3_CODEC_SERVER_PORT}`);
      expect(settings.Codec?.IncludeCredentials).toBe(true);
      // Three workers, each with its metrics.
      for (let i = 0; i < 3; i++) expect((await fetch(`http://127.0.0.1:${ports.ITK3_WORKER_METRICS_PORT + i}/metrics`)).status).toBe(200);

      // The actor-token and correlation keys are kept in the data directory (0600) for the next run, and
      // the API and every worker run with those very keys.
      const kept = (file: string): string => {
        expect(statSync(path.join(dataDir, file)).mode & 0o777).toBe(0o600);
        return readFileSync(path.join(dataDir, file), 'utf8').trim();
      };
      const actorKeys = kept('local-actor-keys');
      const correlationKey = kept('local-correlation-key');
      const services = childEnvironments(proc.pid!).filter((c) => /(worker[/\\]main|api-main)\.js/.test(c.cmdline));
      expect(services.length).toBe(4);
      for (const c of services) {
        expect(c.env.ITK3_ACTOR_KEYS).toBe(actorKeys);
        expect(c.env.ITK3_CORRELATION_KEY).toBe(correlationKey);
      }

      const api = new CourierHttpClient({ baseUrl: `http://127.0.0.1:${ports.ITK3_API_PORT}`, token: operator });
      const { workflowId } = await api.submit({ ...syntheticSubmission(0), documentId: randomUUID() });
      const until = Date.now() + 180_000;
      let status = '';
      while (status !== 'DELIVERED' && Date.now() < until) {
        status = (await api.status(workflowId)).status;
        if (status !== 'DELIVERED') await new Promise((r) => setTimeout(r, 1000));
      }
      expect(status).toBe('DELIVERED');
    } finally {
      proc.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('stopped.');
    // Everything it started has gone: every port it used is free again (PostgreSQL and the nodes too).
    for (const [name, port] of Object.entries(ports)) expect(`${name} ${(await portFree(port)) ? 'free' : 'still in use'}`).toBe(`${name} free`);
    const nodePorts = [...out.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    for (const port of new Set(nodePorts)) expect(`${port} ${(await portFree(port)) ? 'free' : 'still in use'}`).toBe(`${port} free`);
  });
});
