// Finds or builds the control-plane binaries: kube-apiserver, kube-controller-manager and kubectl from
// the pinned k8s.io/kubernetes module, etcd from go.etcd.io/etcd/server/v3. Versions come from the
// go.mod files under test/testbed/go/ (the single place to change them); binaries are cached by version
// outside the repository and reused across runs. KUBEBUILDER_ASSETS (the envtest convention) supplies
// binaries a user already has. helm (for the chart tests) is built the same way from test/testbed/go/helm,
// only when a test asks for it (ensureHelm) and no helm 3.16 or later is on PATH or in KUBEBUILDER_ASSETS.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { sleep } from '../../src/util/time.ts';

const goDir = resolve(import.meta.dirname, 'go');

export interface Binaries {
  etcd: string;
  kubeApiServer: string;
  kubeControllerManager: string;
  kubectl: string;
}

export interface BuildRecord {
  version: string;
  seconds: number;
  builtAt: string;
}

export const cacheRoot = (): string =>
  process.env.ARGUS_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'argus');

function requiredVersion(module: string, goMod: string): string {
  const text = readFileSync(join(goDir, goMod, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(text);
  if (!match?.[1]) throw new Error(`test/testbed/go/${goMod}/go.mod does not require ${module}`);
  return match[1];
}

export const kubernetesVersion = (): string => requiredVersion('k8s.io/kubernetes', 'kubernetes');
export const etcdVersion = (): string => requiredVersion('go.etcd.io/etcd/server/v3', 'etcd');
export const helmVersion = (): string => requiredVersion('helm.sh/helm/v3', 'helm');

interface Target {
  goMod: string;
  version: string;
  packages: Record<string, string>; // binary name -> Go package
  ldflags: string;
}

function targets(): Target[] {
  const kube = kubernetesVersion();
  const [, minor] = kube.split('.');
  const versionPkg = 'k8s.io/component-base/version';
  return [
    {
      goMod: 'kubernetes',
      version: kube,
      packages: {
        'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
        'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
        kubectl: 'k8s.io/kubernetes/cmd/kubectl',
      },
      ldflags: `-s -w -X ${versionPkg}.gitVersion=${kube} -X ${versionPkg}.gitMajor=1 -X ${versionPkg}.gitMinor=${minor}`,
    },
    { goMod: 'etcd', version: etcdVersion(), packages: { etcd: 'go.etcd.io/etcd/server/v3' }, ldflags: '-s -w' },
  ];
}

function helmTarget(): Target {
  const version = helmVersion();
  // The Kubernetes version helm assumes without a cluster (`helm template`, `helm lint`): its client-go's.
  const [, minor] = requiredVersion('k8s.io/client-go', 'helm').split('.');
  const kube = (pkg: string) =>
    `-X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMinor=${minor}`;
  return {
    goMod: 'helm',
    version,
    packages: { helm: 'helm.sh/helm/v3/cmd/helm' },
    ldflags: `-s -w -X helm.sh/helm/v3/internal/version.version=${version} ${kube('lint/rules')} ${kube('chartutil')}`,
  };
}

/** Major and minor version of a helm binary (`helm version`), or undefined when it does not run. */
function helmRelease(binary: string): [number, number] | undefined {
  const probe = spawnSync(binary, ['version', '--template', '{{.Version}}'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error || probe.status !== 0) return undefined;
  const match = /^v(\d+)\.(\d+)\./.exec(probe.stdout.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/**
 * Path of a helm binary: helm 3.16 or later (the chart tests use --skip-schema-validation) from
 * KUBEBUILDER_ASSETS or PATH, else the pinned version from test/testbed/go/helm, built on first use (a few
 * minutes) and cached like the control plane.
 */
export async function ensureHelm(log: (line: string) => void = () => undefined): Promise<string> {
  const assets = process.env.KUBEBUILDER_ASSETS;
  for (const candidate of [...(assets ? [join(assets, 'helm')] : []), 'helm']) {
    const [major = 0, minor = 0] = helmRelease(candidate) ?? [];
    if (major > 3 || (major === 3 && minor >= 16)) return candidate;
  }
  const target = helmTarget();
  const dir = join(cacheRoot(), 'testbed', `${target.goMod}-${target.version}`);
  if (!existsSync(join(dir, 'helm'))) await build(target, dir, log);
  return join(dir, 'helm');
}

/** Returns paths of all binaries, building the missing ones (which takes minutes the first time). */
export async function ensureBinaries(log: (line: string) => void = () => undefined): Promise<Binaries> {
  const found: Record<string, string> = {};
  const assets = process.env.KUBEBUILDER_ASSETS;
  for (const target of targets()) {
    const dir = join(cacheRoot(), 'testbed', `${target.goMod}-${target.version}`);
    for (const name of Object.keys(target.packages)) {
      if (assets && existsSync(join(assets, name))) found[name] = join(assets, name);
    }
    const missing = Object.keys(target.packages).filter((name) => !found[name]);
    if (missing.length === 0) continue;
    if (!Object.keys(target.packages).every((name) => existsSync(join(dir, name)))) {
      await build(target, dir, log);
    }
    for (const name of missing) found[name] = join(dir, name);
  }
  return {
    etcd: found.etcd!,
    kubeApiServer: found['kube-apiserver']!,
    kubeControllerManager: found['kube-controller-manager']!,
    kubectl: found.kubectl!,
  };
}

/** Build times recorded by ensureBinaries, for the benchmark. */
export function buildRecords(): BuildRecord[] {
  return targets().flatMap((target) => {
    const file = join(cacheRoot(), 'testbed', `${target.goMod}-${target.version}`, 'build.json');
    return existsSync(file) ? [JSON.parse(readFileSync(file, 'utf8')) as BuildRecord] : [];
  });
}

function checkGo(): void {
  const probe = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'Go is needed to build the test control plane (kube-apiserver, kube-controller-manager, kubectl, etcd) and ' +
        'helm, but `go` was not found on PATH. Install Go >= 1.26 (https://go.dev/dl/) or set KUBEBUILDER_ASSETS ' +
        'to a directory that holds those binaries.',
    );
  }
}

async function build(target: Target, dir: string, log: (line: string) => void): Promise<void> {
  checkGo();
  mkdirSync(join(cacheRoot(), 'testbed'), { recursive: true });
  // Several test processes may ask at once: one builds, the others wait for its result.
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Object.keys(target.packages).every((name) => existsSync(join(dir, name)))) return;
      await sleep(1000);
    }
  }
  try {
    if (Object.keys(target.packages).every((name) => existsSync(join(dir, name)))) return;
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`building ${Object.keys(target.packages).join(', ')} ${target.version} (first run only; takes minutes)`);
    const started = performance.now();
    await runGo(
      ['build', '-trimpath', '-o', `${staging}/`, '-ldflags', target.ldflags, ...Object.values(target.packages)],
      join(goDir, target.goMod),
    );
    // go build names each binary after its package's last path element without a major-version
    // suffix (go.etcd.io/etcd/server/v3 -> "server"); give them their real names.
    for (const [name, pkg] of Object.entries(target.packages)) {
      const built = pkg
        .split('/')
        .filter((part) => !/^v\d+$/.test(part))
        .pop()!;
      if (built !== name) renameSync(join(staging, built), join(staging, name));
    }
    const record: BuildRecord = {
      version: target.version,
      seconds: (performance.now() - started) / 1000,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(staging, 'build.json'), JSON.stringify(record, null, 2));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    log(`built ${target.goMod} ${target.version} in ${record.seconds.toFixed(0)} s`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function runGo(args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('go', args, {
      cwd,
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) return resolvePromise();
      const tail = output.trim().split('\n').slice(-25).join('\n');
      const hint = /dial tcp|proxy\.golang|i\/o timeout|connection refused|no such host|410 Gone|404 Not Found/.test(
        output,
      )
        ? '\nA Go module download failed: check network access to the Go module proxy (GOPROXY) and retry.'
        : '';
      reject(
        new Error(`go ${args[0]} in test/testbed/go/${cwd.split('/').pop()} failed (exit ${code}):\n${tail}${hint}`),
      );
    });
  });
}
