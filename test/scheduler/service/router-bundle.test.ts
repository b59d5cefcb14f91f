// The bundled router (npm run build:router) run from a folder that holds nothing but router.mjs.
import { execFile, spawn } from 'node:child_process';
import { copyFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildRouterBundle } from '../../../scheduler/build.ts';
import { startSimServer, type SimServer } from '../../../scheduler/sim/server.ts';
import { FakeKubeApi } from '../datalayer/fake-kube-api.ts';
import { LOOPBACK_FLAGS, spawnRouter, type RouterProcess } from './router-process.ts';
import { defined } from '../datalayer/defined.ts';

/** The bundle with the precise baseline subscribed to KV-cache events of one (unreachable) endpoint. */
const KV_EVENT_ROUTER_ARGS = [
  '--static-endpoints',
  '127.0.0.1:9',
  '--policy',
  'llm-d-precise',
  '--kv-events-port',
  '5557',
  '--secure-serving=false',
  ...LOOPBACK_FLAGS,
];

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const ROOT = join(import.meta.dirname, '..', '..', '..');
let buildDir: string;
let runDir: string;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'router-build-'));
  runDir = await mkdtemp(join(tmpdir(), 'router-run-'));
  const { file } = await buildRouterBundle(buildDir);
  await copyFile(file, join(runDir, 'router.mjs'));
}, 120_000);

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
  await rm(runDir, { recursive: true, force: true });
});

describe('bundled router', () => {
  const sims: SimServer[] = [];
  let router: RouterProcess | undefined;
  let api: FakeKubeApi | undefined;

  afterEach(async () => {
    if (router !== undefined && router.child.exitCode === null) {
      router.child.kill('SIGKILL');
      await router.exited;
    }
    router = undefined;
    await api?.close();
    api = undefined;
    await Promise.all(sims.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  it('prints its help from a folder without node_modules', async () => {
    expect(await readdir(runDir)).toEqual(['router.mjs']);
    const { stdout } = await promisify(execFile)(process.execPath, ['router.mjs', '--help'], { cwd: runDir });
    for (const flag of [
      '--pool-name',
      '--pool-namespace',
      '--config-file',
      '--grpc-port',
      '--static-endpoints',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it('runs the vLLM metrics proxy: the simulated vLLM’s /metrics through it, its API not', async () => {
    const sim = await startSimServer({
      host: '127.0.0.1',
      port: 0,
      model: MODEL,
      profile: 'qwen2.5-0.5b-l4',
    });
    sims.push(sim);
    const child = spawn(
      process.execPath,
      [
        'router.mjs',
        'metrics-proxy',
        '--listen-address',
        '127.0.0.1',
        '--port',
        '0',
        '--vllm-port',
        String(sim.port),
      ],
      { cwd: runDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      // The proxy logs its port once it listens (--port 0 picks a free one).
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /"port":(\d+)/.exec(out);
          if (match !== null) resolve(Number(match[1]));
        });
        child.once('exit', (code) => reject(new Error(`metrics proxy exited with ${String(code)}`)));
      });
      const metrics = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('vllm:num_requests_waiting');
      const api = await fetch(`http://127.0.0.1:${String(port)}/v1/models`);
      expect(api.status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('without zeromq beside it, --kv-events-port stops the router with an error naming the package', async () => {
    const failed = await promisify(execFile)(process.execPath, ['router.mjs', ...KV_EVENT_ROUTER_ARGS], {
      cwd: runDir,
    }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout ?? ''}${failed?.stderr ?? ''}`).toContain(
      '--kv-events-port needs the zeromq package',
    );
  });

  it('loads zeromq from node_modules beside the bundle (the image layout) for --kv-events-port', async () => {
    const app = await mkdtemp(join(tmpdir(), 'router-zmq-'));
    try {
      await copyFile(join(buildDir, 'router.mjs'), join(app, 'router.mjs'));
      for (const pkg of ['zeromq', 'cmake-ts']) {
        await cp(join(ROOT, 'node_modules', pkg), join(app, 'node_modules', pkg), { recursive: true });
      }
      router = await spawnRouter([process.execPath, 'router.mjs', ...KV_EVENT_ROUTER_ARGS], app);
      expect(router.logs.find((l) => l['msg'] === 'subscribed to KV-cache events')).toMatchObject({
        port: 5557,
        blockSize: 16,
      });
      // (The round trip also lets main() install its signal handlers after the start-up log line.)
      const metrics = await (await fetch(`http://127.0.0.1:${router.ports.metrics}/metrics`)).text();
      expect(metrics).toContain('# TYPE switchyard_kv_events_total counter');
      router.child.kill('SIGTERM');
      expect(await router.exited).toBe(0);
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });

  it('serves through a self-signed TLS ext_proc port, then drains on SIGTERM while a stream finishes', async () => {
    sims.push(
      await startSimServer({
        host: '127.0.0.1',
        port: 0,
        model: MODEL,
        profile: 'qwen2.5-0.5b-l4',
        faults: { slowdown: 2 },
      }),
    );
    router = await spawnRouter(
      [
        process.execPath,
        'router.mjs',
        '--static-endpoints',
        `127.0.0.1:${defined(sims[0]).port}`,
        '--drain-timeout',
        '10s',
        ...LOOPBACK_FLAGS,
      ],
      runDir,
    );
    expect(router.logs.find((l) => l['msg'] === 'router started')).toMatchObject({
      tls: true,
      discovery: 'static',
    });
    const base = `http://127.0.0.1:${router.ports.http ?? 0}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const stream = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'tell me a story', max_tokens: 40, stream: true }),
    });
    expect(stream.status).toBe(200);
    const reader = defined(stream.body).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });

    router.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    // New work is refused (503 or the listener is already closed) while the stream keeps flowing.
    const late = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ model: MODEL, prompt: 'late', max_tokens: 2 }),
    }).then(
      (r) => r.status,
      () => 'connection refused',
    );
    expect([503, 'connection refused']).toContain(late);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await router.exited).toBe(0);
    expect(router.logs.find((l) => l['msg'] === 'drained')).toMatchObject({ idle: true, inFlight: 0 });
  });

  it('discovers its InferencePool through the Kubernetes API and routes to the pods', async () => {
    sims.push(await startSimServer({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'qwen2.5-0.5b-l4' }));
    api = new FakeKubeApi();
    await api.start();
    api.apply('/apis/inference.networking.k8s.io/v1/namespaces/llm/inferencepools', {
      metadata: { name: 'qwen', namespace: 'llm' },
      spec: { selector: { matchLabels: { app: 'qwen' } }, targetPorts: [{ number: defined(sims[0]).port }] },
    });
    api.apply('/api/v1/namespaces/llm/pods', {
      metadata: { name: 'qwen-0', namespace: 'llm', labels: { app: 'qwen' } },
      status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const kubeconfig = join(runDir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, api.kubeconfigText('llm'));
    router = await spawnRouter(
      [
        process.execPath,
        'router.mjs',
        '--pool-name',
        'qwen',
        '--pool-namespace',
        'llm',
        '--kubeconfig',
        kubeconfig,
        '--secure-serving=false',
        '--policy',
        'llm-d',
        ...LOOPBACK_FLAGS,
      ],
      runDir,
    );
    const base = `http://127.0.0.1:${router.ports.http ?? 0}`;
    for (let i = 0; ; i++) {
      if ((await fetch(`${base}/readyz`)).status === 200) {
        break;
      }
      expect(i).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 25));
    }
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-destination-endpoint-served')).toBe(
      `127.0.0.1:${defined(sims[0]).port}`,
    );
    await res.arrayBuffer();
    const metrics = await (await fetch(`http://127.0.0.1:${router.ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/^llm_d_epp_request_total\{[^}]*\} 1$/m);
    router.child.kill('SIGTERM');
    expect(await router.exited).toBe(0);
  });
});

describe('scheduler/Dockerfile', () => {
  interface Stage {
    readonly from: string;
    readonly lines: string[];
  }

  async function stages(): Promise<Stage[]> {
    const text = await readFile(join(ROOT, 'scheduler', 'Dockerfile'), 'utf8');
    const result: Stage[] = [];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) {
        continue;
      }
      if (line.startsWith('FROM ')) {
        result.push({ from: line, lines: [] });
      } else {
        result.at(-1)?.lines.push(line);
      }
    }
    return result;
  }

  it('pins every stage to the exact Node.js version the project runs on', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
      engines: { node: string };
    };
    const version = pkg.devDependencies['node'];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const all = await stages();
    expect(all).toHaveLength(2);
    for (const stage of all) {
      expect(stage.from).toMatch(
        new RegExp(
          `^FROM docker\\.io/library/node:${defined(version).replaceAll('.', '\\.')}-[a-z-]+( AS \\w+)?$`,
        ),
      );
    }
    expect(pkg.engines.node).toContain(`>=${defined(version).split('.')[0]}`);
  });

  it('copies into the build stage every project file the bundle is made of', async () => {
    const [build] = await stages();
    const copied = defined(build)
      .lines.filter((l) => l.startsWith('COPY '))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(defined(build).lines).toContain('RUN npm ci --ignore-scripts --no-audit --no-fund');
    expect(defined(build).lines.some((l) => l.startsWith('RUN node scheduler/build.ts'))).toBe(true);
    const meta = JSON.parse(await readFile(join(buildDir, 'meta.json'), 'utf8')) as {
      inputs: Record<string, unknown>;
    };
    const ignore = await readFile(join(ROOT, 'scheduler', 'Dockerfile.dockerignore'), 'utf8');
    for (const input of Object.keys(meta.inputs).filter((p) => !p.startsWith('node_modules/'))) {
      const covered = copied.some((c) => (c.endsWith('/') ? input.startsWith(c) : input === c));
      expect(covered, `${input} is bundled but not copied into the build stage`).toBe(true);
      const top = input.includes('/') ? `${input.split('/')[0] ?? ''}/` : input;
      expect(ignore.split('\n'), `${top} is excluded from the build context`).toContain(`!${top}`);
    }
  });

  it('runs only the bundle and the zeromq addon, as a non-root user, and that bundle runs alone', async () => {
    const [, runtime] = await stages();
    const copies = defined(runtime).lines.filter((l) => l.startsWith('COPY '));
    expect(copies).toEqual([
      'COPY --from=build /src/dist/router/router.mjs /src/dist/router/router.mjs.LEGAL.txt /app/',
      'COPY --from=build /src/node_modules/zeromq/ /app/node_modules/zeromq/',
      'COPY --from=build /src/node_modules/cmake-ts/ /app/node_modules/cmake-ts/',
    ]);
    // What zeromq requires at run time is copied too (node-addon-api only builds from source).
    const zeromq = JSON.parse(
      await readFile(join(ROOT, 'node_modules', 'zeromq', 'package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(zeromq.dependencies).sort()).toEqual(['cmake-ts', 'node-addon-api']);
    const user = defined(runtime).lines.find((l) => l.startsWith('USER '));
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(defined(runtime).lines).toContain('ENTRYPOINT ["node", "/app/router.mjs"]');
    expect(defined(runtime).lines.some((l) => l.startsWith('RUN '))).toBe(false);

    // The runtime stage's /app, reproduced: the two copied files and nothing else.
    const app = await mkdtemp(join(tmpdir(), 'router-app-'));
    try {
      await copyFile(join(buildDir, 'router.mjs'), join(app, 'router.mjs'));
      await copyFile(join(buildDir, 'router.mjs.LEGAL.txt'), join(app, 'router.mjs.LEGAL.txt'));
      const { stdout } = await promisify(execFile)(process.execPath, [join(app, 'router.mjs'), '--help'], {
        cwd: '/',
      });
      expect(stdout).toContain('--pool-name');
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });
});
