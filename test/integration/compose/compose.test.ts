/**
 * docker-compose.yml without a Docker engine: the file is checked against the Compose rules it relies
 * on and every cross-reference is followed: depends_on targets and conditions, health checks, volumes,
 * ports, service addresses in URLs, the environment against the zod schema the processes parse, every
 * `${VAR}` against .env.example, the search attributes against contracts/, and the build context.
 * .env.example itself must list every configuration key and load as a valid configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { EnvSchema, loadConfig } from '../../../config/env';
import { ALL_SEARCH_ATTRIBUTES } from '../../../contracts/search-attributes';
import { testServices } from '../../helpers/services';
import { nodeEnv, pinnedPostgresMajor, pinnedVersions } from '../../../scripts/lib/cluster';

const ROOT = path.join(__dirname, '../../..');
const raw = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  restart?: string;
}
const compose = parse(raw, { merge: true }) as { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const names = Object.keys(services);
const oneShot = (s: Service): boolean => s.restart === 'no';

/** `.env.example` as key -> value. */
const dotenv = Object.fromEntries(
  readFileSync(path.join(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const schemaKeys = Object.keys(EnvSchema.shape);
const ourPrefix = /^(ITK3_|MESH_|STORE_|LOG_|TEMPORAL_ADDRESS$|TEMPORAL_NAMESPACE$)/;
const commandOf = (s: Service): string => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));
/** The ITK3 Courier processes configured by config/env.ts (not the one-shot set-up, not the frontend balancer). */
const appServices = names.filter((n) => services[n]!.image === 'itk3-courier:local' && !oneShot(services[n]!) && !commandOf(services[n]!).includes('tcp-balancer'));
const temporalNodes = names.filter((n) => services[n]!.image?.startsWith('temporalio/server:'));
/** "127.0.0.1:3000:3000" or "${UI_PORT:-8080}:8080" -> { ip, host, container } with defaults applied. */
const published = (p: string): { ip?: string; host: string; container: string } => {
  const parts = p.replace(/\$\{[A-Z_]+:-(\d+)\}/, '$1').split(':');
  return parts.length === 3 ? { ip: parts[0], host: parts[1]!, container: parts[2]! } : { host: parts[0]!, container: parts[1]! };
};

describe('docker-compose.yml', () => {
  it('has the scale-out topology: PostgreSQL, two Temporal nodes, Web UI, mesh-sandbox, API, codec server, two or more workers', () => {
    expect(temporalNodes.length).toBe(2);
    for (const n of temporalNodes) expect(services[n]!.environment?.POSTGRES_SEEDS).toBe('postgresql');
    expect(services['temporal-schema']?.depends_on).toHaveProperty('postgresql');
    expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(names).toEqual(expect.arrayContaining(['postgresql', 'mesh-sandbox', 'api', 'codec-server']));
    const workers = names.filter((n) => commandOf(services[n]!).includes('dist/worker/main.js'));
    expect(workers.length).toBeGreaterThanOrEqual(2);
    expect(new Set(workers.map((w) => services[w]!.environment?.ITK3_WORKER_IDENTITY)).size).toBe(workers.length);
    expect(commandOf(services.api!)).toContain('dist/client/api/api-main.js');
    expect(commandOf(services['codec-server']!)).toContain('dist/codec/main.js');
  });

  it('pins every image and names no latest tag', () => {
    for (const [n, s] of Object.entries(services)) {
      expect(`${n}: ${s.image ?? ''}`).toMatch(/:[\w.-]+$/);
      expect(s.image).not.toMatch(/:latest$/);
    }
  });

  it('gives every long-running service a health check, and waits only on conditions that can be met', () => {
    for (const [n, s] of Object.entries(services)) {
      if (!oneShot(s)) expect(`${n}: ${JSON.stringify(s.healthcheck?.test ?? null)}`).toMatch(/CMD/);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(names).toContain(dep);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(services[dep]!.healthcheck).toBeDefined();
        if (condition === 'service_completed_successfully') expect(oneShot(services[dep]!)).toBe(true);
      }
    }
  });

  it('has no dependency cycle', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (n: string): void => {
      if (done.has(n)) return;
      if (visiting.has(n)) throw new Error(`cycle through ${n}`);
      visiting.add(n);
      for (const d of Object.keys(services[n]!.depends_on ?? {})) visit(d);
      visiting.delete(n);
      done.add(n);
    };
    for (const n of names) expect(() => visit(n)).not.toThrow();
  });

  it('declares every named volume it mounts and publishes no host port twice', () => {
    const hostPorts: string[] = [];
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(compose.volumes)).toContain(source);
      }
      for (const p of s.ports ?? []) hostPorts.push(published(p).host);
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('points every service address at a service that listens there', () => {
    const listens: Record<string, string[]> = {
      'temporal-1': ['7233'],
      'temporal-2': ['7233'],
      'temporal-frontend': [services['temporal-frontend']!.environment!.ITK3_BALANCER_LISTEN!.split(':')[1]!],
      'mesh-sandbox': ['8700'],
      api: [services.api!.environment!.ITK3_API_PORT!],
      'codec-server': [services['codec-server']!.environment!.ITK3_CODEC_SERVER_PORT!],
      postgresql: ['5432'],
    };
    const text = JSON.stringify(services);
    for (const [, host, port] of text.matchAll(/(?:https?:\/\/)?\b([a-z][a-z0-9-]+):(\d{4,5})\b/g)) {
      if (host === 'localhost' || !names.includes(host!)) continue;
      expect(`${host}:${port}`).toBe(`${host}:${listens[host!]?.find((p) => p === port) ?? '?'}`);
    }
    // Published container ports are the ports the processes are told to listen on.
    expect(services.api!.ports).toContain(`127.0.0.1:${listens.api![0]}:${listens.api![0]}`);
    expect(services['temporal-frontend']!.ports).toContain(`127.0.0.1:${listens['temporal-frontend']![0]}:${listens['temporal-frontend']![0]}`);
    for (const w of names.filter((n) => commandOf(services[n]!).includes('dist/worker/main.js'))) {
      expect(JSON.stringify(services[w]!.healthcheck)).toContain(`:${services[w]!.environment!.ITK3_WORKER_METRICS_PORT}/health`);
    }
  });

  it('configures the app only with keys the processes know, and all the required ones', () => {
    for (const n of appServices) {
      const env = services[n]!.environment ?? {};
      for (const key of Object.keys(env).filter((k) => ourPrefix.test(k))) expect(`${n}: ${key} ${schemaKeys.includes(key) ? 'known' : 'unknown'}`).toBe(`${n}: ${key} known`);
      for (const required of ['STORE_KEYS', 'ITK3_CODEC_KEYS', 'ITK3_API_TOKENS', 'ITK3_RECIPIENT_MAILBOX']) expect(env).toHaveProperty(required);
      expect(services[n]!.volumes).toContain(`store:${env.STORE_DIR}`);
    }
  });

  it('takes every ${VAR} from .env.example', () => {
    const vars = [...raw.matchAll(/\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}/g)].map((m) => m[1]!);
    expect(vars.length).toBeGreaterThan(5);
    for (const v of new Set(vars)) expect(`${v} ${v in dotenv ? 'listed' : 'missing'}`).toBe(`${v} listed`);
  });

  it('lets the Web UI decode through the codec server, from an origin the codec server allows', () => {
    const ui = services['temporal-ui']!.environment!;
    const codecPublished = published(services['codec-server']!.ports![0]!).host;
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toBe(`http://localhost:${codecPublished}`);
    const origins = services['codec-server']!.environment!.ITK3_CODEC_CORS_ORIGINS!.replace(/\$\{TEMPORAL_UI_PORT:-(\d+)\}/g, '$1').split(',');
    const uiPublished = published(services['temporal-ui']!.ports![0]!).host;
    expect(origins).toContain(`http://localhost:${uiPublished}`);
  });

  it('sets up the namespace and search attributes with the script that reads them from contracts/', () => {
    const setup = services['temporal-setup']!;
    expect(commandOf(setup)).toBe('node dist/scripts/temporal-setup.js');
    expect(existsSync(path.join(ROOT, 'scripts/temporal-setup.ts'))).toBe(true);
    expect(readFileSync(path.join(ROOT, 'scripts/temporal-setup.ts'), 'utf8')).toContain('ensureNamespaceSetup');
    expect(setup.depends_on?.['temporal-frontend']?.condition).toBe('service_healthy');
  });

  it('builds from a Dockerfile that exists and ignores local state', () => {
    const build = services.api!.build!;
    expect(existsSync(path.join(ROOT, build.context, build.dockerfile ?? 'Dockerfile'))).toBe(true);
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', '.venv', '.data', '.env']));
  });
});

describe('scripts/temporal-setup.ts (the temporal-setup service)', () => {
  it('creates the namespace and registers every search attribute, and is idempotent', async () => {
    const { temporalAddress } = testServices();
    const namespace = `setup-${randomUUID().slice(0, 8)}`;
    const run = () =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test/integration/api/swc-register.js'), path.join(ROOT, 'scripts/temporal-setup.ts')], {
          env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: namespace, ITK3_RETENTION_DAYS: '3' },
          stdio: 'ignore',
        });
        child.on('close', (code) => resolve(code ?? -1));
      });
    expect(await run()).toBe(0);
    expect(await run()).toBe(0);
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      for (const k of ALL_SEARCH_ATTRIBUTES) expect(Object.keys(customAttributes ?? {})).toContain(k.name);
      const ns = await connection.workflowService.describeNamespace({ namespace });
      expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(3 * 86_400);
    } finally {
      await connection.close();
    }
  }, 120_000);
});

describe('.env.example', () => {
  it('lists every configuration key', () => {
    for (const key of schemaKeys) expect(`${key} ${key in dotenv ? 'listed' : 'missing'}`).toBe(`${key} listed`);
  });

  it('loads as a valid configuration as it stands', () => {
    const env = Object.fromEntries(Object.entries(dotenv).map(([k, v]) => [k, v.replace(/^"(.*)"$/, '$1')]));
    expect(() => loadConfig(env)).not.toThrow();
  });
});

describe('docker-compose.yml in step with the local cluster (npm run cluster, scripts/lib/cluster.ts)', () => {
  const versions = pinnedVersions();
  const serverTemplate = readFileSync(path.join(ROOT, 'config/temporal/server.yaml'), 'utf8');
  const uiTemplate = readFileSync(path.join(ROOT, 'config/temporal/ui/itk3.yaml'), 'utf8');
  const envRead = (template: string): Set<string> => new Set([...template.matchAll(/env "([A-Z0-9_]+)"/g)].map((m) => m[1]!));
  const serverEnv = envRead(serverTemplate);
  /** Read by the temporalio/server image itself (entrypoint and command-line flags), not by the template. */
  const imageEnv = ['TEMPORAL_SERVER_CONFIG_FILE_PATH', 'TEMPORAL_ALLOW_NO_AUTH'];

  it('runs the Temporal server, schema tool, Web UI and PostgreSQL versions the local cluster builds and installs', () => {
    const server = versions.temporalServer.replace(/^v/, '');
    for (const n of temporalNodes) expect(`${n} ${services[n]!.image}`).toBe(`${n} temporalio/server:${server}`);
    expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${server}`);
    expect(services['temporal-ui']!.image).toBe(`temporalio/ui:${versions.uiServer.replace(/^v/, '')}`);
    expect(services.postgresql!.image).toMatch(new RegExp(`^postgres:${pinnedPostgresMajor()}\\.\\d+$`));
  });

  it('gives every node the shared server and dynamic configuration, and every value the template needs', () => {
    for (const n of temporalNodes) {
      const env = services[n]!.environment!;
      const mount = services[n]!.volumes!.find((v) => v.startsWith('./config/temporal:'))!;
      expect(mount).toMatch(/:ro$/);
      const target = mount.split(':')[1]!;
      expect(env.TEMPORAL_SERVER_CONFIG_FILE_PATH).toBe(`${target}/server.yaml`);
      expect(env.DYNAMIC_CONFIG_FILE_PATH).toBe(`${target}/dynamic-config.yaml`);
      for (const key of Object.keys(env)) expect(`${n}: ${key} ${serverEnv.has(key) || imageEnv.includes(key) ? 'read' : 'unused'}`).toBe(`${n}: ${key} read`);
      for (const key of ['POSTGRES_SEEDS', 'POSTGRES_USER', 'POSTGRES_PWD', 'NUM_HISTORY_SHARDS']) expect(env).toHaveProperty(key);
    }
    // The local nodes get the same names (and nothing the template ignores).
    const local = nodeEnv({ frontend: 1, http: 2, metrics: 3, rest: { HISTORY_GRPC_PORT: '4' } }, { port: 5, user: 'u', password: 'p' });
    for (const key of Object.keys(local)) expect(`local: ${key} ${serverEnv.has(key) ? 'read' : 'unused'}`).toBe(`local: ${key} read`);
    expect(local.NUM_HISTORY_SHARDS).toBe(services['temporal-1']!.environment!.NUM_HISTORY_SHARDS);
    // Both stores on PostgreSQL with the postgres12 plugin: SQL visibility serves the search attributes.
    expect([...serverTemplate.matchAll(/pluginName: postgres12/g)]).toHaveLength(2);
    // The Go profiler serves heap dumps to anyone on the host: off unless a benchmark asks for a port.
    expect(serverTemplate).toMatch(/pprof:\n\s+port: \{\{ default "0" \(env "PPROF_PORT"\) \}\}/);
    expect(local).not.toHaveProperty('PPROF_PORT');
    for (const n of temporalNodes) expect(services[n]!.environment).not.toHaveProperty('PPROF_PORT');
  });

  it('sets up the schema with the script the local cluster runs, and starts the nodes one after the other', () => {
    const schema = services['temporal-schema']!;
    expect(commandOf(schema)).toBe('sh /itk3/cluster/schema.sh');
    expect(schema.volumes).toContain('./scripts/cluster:/itk3/cluster:ro');
    expect(oneShot(schema)).toBe(true);
    expect(readFileSync(path.join(ROOT, 'scripts/lib/cluster.ts'), 'utf8')).toContain("'schema.sh'");
    expect(services['temporal-1']!.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    // Started together on an empty database, two nodes race for the cluster record and the loser exits.
    expect(services['temporal-2']!.depends_on?.['temporal-1']?.condition).toBe('service_healthy');
  });

  it('waits until every node serves the namespace, and sends every client through the one balancer', () => {
    const setup = services['temporal-setup']!.environment!;
    expect(setup.TEMPORAL_SETUP_FRONTENDS!.split(',').sort()).toEqual(temporalNodes.map((n) => `${n}:7233`).sort());
    expect(services['temporal-frontend']!.environment!.ITK3_BALANCER_BACKENDS!.split(',').sort()).toEqual(temporalNodes.map((n) => `${n}:7233`).sort());
    for (const n of appServices) expect(`${n} ${services[n]!.environment?.TEMPORAL_ADDRESS ?? '(none)'}`).toMatch(new RegExp(`^${n} (temporal-frontend:7233|\\(none\\))$`));
    expect(services['temporal-ui']!.environment!.TEMPORAL_ADDRESS).toBe('temporal-frontend:7233');
  });

  it('configures the Web UI only with settings the local ui-server configuration also reads', () => {
    const uiEnv = envRead(uiTemplate);
    for (const key of Object.keys(services['temporal-ui']!.environment!)) expect(`${key} ${uiEnv.has(key) ? 'read' : 'unused'}`).toBe(`${key} read`);
    expect(services['temporal-ui']!.environment!.TEMPORAL_CODEC_INCLUDE_CREDENTIALS).toBe('true');
  });

  it('publishes only what a person must reach, and only on 127.0.0.1', () => {
    const publishing = names.filter((n) => (services[n]!.ports ?? []).length > 0).sort();
    expect(publishing).toEqual(['api', 'codec-server', 'temporal-frontend', 'temporal-ui']);
    for (const n of publishing) for (const p of services[n]!.ports!) expect(`${n} ${published(p).ip ?? '(all interfaces)'}`).toBe(`${n} 127.0.0.1`);
  });
});
