// A real Kubernetes control plane for tests and local use: etcd, kube-apiserver and
// kube-controller-manager as local processes, each control plane with its own ports, PKI, service-account
// signing keys, admin kubeconfig and aggregation-layer (front-proxy) configuration. Any number can run in
// one process at once (a "seed" and a "shoot"). See docs/adr/0004-testbed.md.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { stringify } from 'yaml';
import { KubeClient } from '../../src/kube/client.ts';
import { KubeConfig } from '../../src/kube/config.ts';
import { Resources } from '../../src/kube/resources.ts';
import {
  createCA,
  createSigningKeyPair,
  issueCertificate,
  type CertificateAuthority,
  type KeyPairPem,
} from '../../src/util/pki.ts';
import { waitFor } from '../../src/util/time.ts';
import { ensureBinaries, type Binaries } from './binaries.ts';
import { alive, freePort, ManagedProcess, runCommand, type CommandResult } from './process.ts';

export interface ControlPlaneOptions {
  /** Shows in directory names and error messages, e.g. "seed" or "shoot". */
  name?: string;
  /** Extra kube-apiserver flags (`--flag=value`). */
  apiServerArgs?: string[];
  /** Start kube-controller-manager (default true). */
  controllerManager?: boolean;
  log?: (line: string) => void;
}

export interface Pki {
  ca: CertificateAuthority;
  frontProxyCa: CertificateAuthority;
  frontProxyClient: KeyPairPem;
  admin: KeyPairPem;
}

const live = new Set<ControlPlane>();
const SERVICE_CIDR = '10.0.0.0/24';
const OWNER_FILE = 'owner.pid';

process.once('exit', () => {
  for (const cp of live) cp.removeFilesSync();
});

export class ControlPlane {
  readonly name: string;
  readonly dir: string;
  readonly binaries: Binaries;
  readonly pki: Pki;
  readonly kubeconfigPath: string;
  apiServerPort = 0;
  private etcdDataDir: string;
  private etcdPorts = { client: 0, peer: 0 };
  private etcd: ManagedProcess | undefined;
  private apiServer: ManagedProcess | undefined;
  private controllerManager: ManagedProcess | undefined;
  private readonly options: ControlPlaneOptions;
  private readonly clients: KubeClient[] = [];
  private probeAgent: Agent | undefined;

  private constructor(binaries: Binaries, pki: Pki, options: ControlPlaneOptions) {
    this.name = options.name ?? 'testbed';
    this.options = options;
    this.binaries = binaries;
    this.pki = pki;
    sweepAbandoned();
    this.dir = mkdtempSync(join(tmpdir(), `argus-cp-${this.name}-`));
    // etcd on tmpfs when there is one: fsync-free and much faster on small machines.
    const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    this.etcdDataDir = mkdtempSync(join(shm, `argus-etcd-${this.name}-`));
    for (const dir of [this.dir, this.etcdDataDir]) writeFileSync(join(dir, OWNER_FILE), String(process.pid));
    this.kubeconfigPath = join(this.dir, 'admin.kubeconfig');
    live.add(this);
  }

  /** Starts etcd, kube-apiserver and kube-controller-manager and waits until the API is usable. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binaries = await ensureBinaries(options.log);
    const pki = await createPki();
    const cp = new ControlPlane(binaries, pki, options);
    try {
      cp.writeFiles();
      await cp.prepareKeys();
      await cp.startEtcd();
      await cp.startApiServer();
      if (options.controllerManager !== false) await cp.startControllerManager();
      return cp;
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }

  get server(): string {
    return `https://127.0.0.1:${this.apiServerPort}`;
  }

  /** A client with cluster-admin rights (system:masters). Closed by stop(). */
  client(userAgent = `argus-testbed/${this.name}`): KubeClient {
    const client = new KubeClient(this.kubeConfig(), { userAgent });
    this.clients.push(client);
    return client;
  }

  /** The admin KubeConfig, or one for `user` in `groups` authenticated by a client certificate. */
  kubeConfig(identity?: KeyPairPem): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml(identity ?? this.pki.admin));
    return kc;
  }

  /** A client certificate for `user` in `groups`, signed by the cluster CA. */
  async identity(user: string, groups: string[] = []): Promise<KeyPairPem> {
    return issueCertificate(this.pki.ca, { commonName: user, organizations: groups, usage: 'client' });
  }

  /** Writes a kubeconfig for the admin or `identity` and returns its path. */
  writeKubeconfig(file: string, identity?: KeyPairPem): string {
    writeFileSync(file, this.kubeconfigYaml(identity ?? this.pki.admin), { mode: 0o600 });
    return file;
  }

  kubeconfigYaml(identity: KeyPairPem): string {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: this.name, cluster: { server: this.server, 'certificate-authority-data': b64(this.pki.ca.certPem) } },
      ],
      users: [
        {
          name: 'user',
          user: { 'client-certificate-data': b64(identity.certPem), 'client-key-data': b64(identity.keyPem) },
        },
      ],
      contexts: [{ name: this.name, context: { cluster: this.name, user: 'user' } }],
      'current-context': this.name,
    });
  }

  /** Runs kubectl (built with the control plane) against this control plane as admin. */
  kubectl(args: string[], input?: string): Promise<CommandResult> {
    return runCommand(this.binaries.kubectl, ['--kubeconfig', this.kubeconfigPath, ...args], { input });
  }

  /** Stops kube-apiserver (etcd keeps the data), as in an API-server outage. */
  async stopApiServer(): Promise<void> {
    await this.apiServer?.stop();
  }

  /** Starts kube-apiserver again on the same port and waits until it is ready. */
  async startApiServer(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!this.apiServerPort || attempt > 1) this.apiServerPort = await freePort();
      this.writeKubeconfig(this.kubeconfigPath); // the port may have changed
      const proc = new ManagedProcess(
        'kube-apiserver',
        this.binaries.kubeApiServer,
        this.apiServerArgs(),
        this.logFile('kube-apiserver'),
      );
      this.apiServer = proc;
      try {
        await waitFor(`kube-apiserver of ${this.name} to become ready`, () => this.ready(), {
          timeoutMs: 60_000,
          intervalMs: 200,
          giveUp: () => (proc.running ? undefined : 'exited'),
        });
        return;
      } catch {
        await proc.stop();
        if (attempt < 3 && /address already in use/.test(proc.tail(50))) continue;
        throw proc.failure(`of control plane ${this.name} did not become ready`);
      }
    }
  }

  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  /** Stops every process and removes every file of this control plane. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
    await this.probeAgent?.close().catch(() => undefined);
    this.probeAgent = undefined;
    for (const proc of [this.controllerManager, this.apiServer, this.etcd]) await proc?.stop();
    this.removeFilesSync();
    live.delete(this);
  }

  removeFilesSync(): void {
    for (const dir of [this.dir, this.etcdDataDir]) rmSync(dir, { recursive: true, force: true });
  }

  logFile(component: string): string {
    return join(this.dir, `${component}.log`);
  }

  private file(name: string): string {
    return join(this.dir, name);
  }

  /** The CA and front-proxy files the processes read, written once. */
  private writeFiles(): void {
    const { ca, frontProxyCa, frontProxyClient } = this.pki;
    const files: Record<string, string> = {
      'ca.crt': ca.certPem,
      'ca.key': ca.keyPem,
      'front-proxy-ca.crt': frontProxyCa.certPem,
      'front-proxy-client.crt': frontProxyClient.certPem,
      'front-proxy-client.key': frontProxyClient.keyPem,
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(this.file(name), content, { mode: 0o600 });
  }

  private async startEtcd(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.etcdPorts = { client: await freePort(), peer: await freePort() };
      const client = `http://127.0.0.1:${this.etcdPorts.client}`;
      const peer = `http://127.0.0.1:${this.etcdPorts.peer}`;
      const proc = new ManagedProcess(
        'etcd',
        this.binaries.etcd,
        [
          `--data-dir=${join(this.etcdDataDir, 'data')}`,
          `--listen-client-urls=${client}`,
          `--advertise-client-urls=${client}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=default=${peer}`,
          '--unsafe-no-fsync=true',
          '--quota-backend-bytes=8589934592',
          '--log-level=warn',
        ],
        this.logFile('etcd'),
      );
      this.etcd = proc;
      try {
        await waitFor(
          `etcd of ${this.name}`,
          async () => {
            const res = await fetch(`${client}/health`).catch(() => undefined);
            return res?.ok === true;
          },
          { timeoutMs: 30_000, intervalMs: 100, giveUp: () => (proc.running ? undefined : 'exited') },
        );
        return;
      } catch {
        await proc.stop();
        if (attempt < 3 && /address already in use/.test(proc.tail(50))) continue;
        throw proc.failure(`of control plane ${this.name} did not become healthy`);
      }
    }
  }

  private apiServerArgs(): string[] {
    const { saPublic, saPrivate, serving, kubeletClient } = this.generatedFiles();
    return [
      `--etcd-servers=http://127.0.0.1:${this.etcdPorts.client}`,
      `--secure-port=${this.apiServerPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--cert-dir=${this.file('apiserver-certs')}`,
      `--tls-cert-file=${serving}.crt`,
      `--tls-private-key-file=${serving}.key`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allow-privileged=true',
      '--authorization-mode=Node,RBAC',
      `--client-ca-file=${this.file('ca.crt')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPublic}`,
      `--service-account-signing-key-file=${saPrivate}`,
      `--requestheader-client-ca-file=${this.file('front-proxy-ca.crt')}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${this.file('front-proxy-client.crt')}`,
      `--proxy-client-key-file=${this.file('front-proxy-client.key')}`,
      `--kubelet-client-certificate=${kubeletClient}.crt`,
      `--kubelet-client-key=${kubeletClient}.key`,
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
      '--v=1',
      ...(this.options.apiServerArgs ?? []),
    ];
  }

  /** Files made once per control plane by prepareKeys(): service-account keys and serving certificates. */
  private generatedFiles(): { saPublic: string; saPrivate: string; serving: string; kubeletClient: string } {
    return {
      saPublic: this.file('sa.pub'),
      saPrivate: this.file('sa.key'),
      serving: this.file('apiserver'),
      kubeletClient: this.file('apiserver-kubelet-client'),
    };
  }

  private async startControllerManager(): Promise<void> {
    const proc = new ManagedProcess(
      'kube-controller-manager',
      this.binaries.kubeControllerManager,
      [
        `--kubeconfig=${this.kubeconfigPath}`,
        `--service-account-private-key-file=${this.file('sa.key')}`,
        `--root-ca-file=${this.file('ca.crt')}`,
        `--cluster-signing-cert-file=${this.file('ca.crt')}`,
        `--cluster-signing-key-file=${this.file('ca.key')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--leader-elect=false',
        '--controllers=*',
        '--secure-port=0',
        '--v=1',
      ],
      this.logFile('kube-controller-manager'),
    );
    this.controllerManager = proc;
    // The service-account controller creates "default" in every namespace: proof that controllers run.
    const client = this.client();
    try {
      await waitFor(
        `kube-controller-manager of ${this.name}`,
        async () => {
          return (await client.getOrUndefined(Resources.serviceAccounts, 'default', 'default')) !== undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200, giveUp: () => (proc.running ? undefined : 'exited') },
      );
    } catch {
      throw proc.failure(`of control plane ${this.name} did not start its controllers`);
    }
  }

  private async ready(): Promise<boolean> {
    this.probeAgent ??= new Agent({
      allowH2: false,
      connect: { ca: this.pki.ca.certPem, cert: this.pki.admin.certPem, key: this.pki.admin.keyPem },
    });
    const res = await fetch(`${this.server}/readyz`, {
      dispatcher: this.probeAgent,
      signal: AbortSignal.timeout(2000),
    }).catch(() => undefined);
    await res?.body?.cancel();
    return res?.status === 200;
  }

  /** Creates the keys and certificates that kube-apiserver needs; called once before the first start. */
  private async prepareKeys(): Promise<void> {
    const { saPublic, saPrivate, serving, kubeletClient } = this.generatedFiles();
    const sa = await createSigningKeyPair();
    writeFileSync(saPublic, sa.publicKeyPem);
    writeFileSync(saPrivate, sa.privateKeyPem, { mode: 0o600 });
    const servingCert = await issueCertificate(this.pki.ca, {
      commonName: 'kube-apiserver',
      hosts: [
        '127.0.0.1',
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
        '10.0.0.1',
      ],
      usage: 'server',
    });
    const kubeletClientCert = await issueCertificate(this.pki.ca, {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
      usage: 'client',
    });
    for (const [base, pair] of [
      [serving, servingCert],
      [kubeletClient, kubeletClientCert],
    ] as const) {
      writeFileSync(`${base}.crt`, pair.certPem);
      writeFileSync(`${base}.key`, pair.keyPem, { mode: 0o600 });
    }
  }
}

async function createPki(): Promise<Pki> {
  const ca = await createCA('argus-testbed-ca');
  const frontProxyCa = await createCA('argus-testbed-front-proxy-ca');
  const [frontProxyClient, admin] = await Promise.all([
    issueCertificate(frontProxyCa, { commonName: 'front-proxy-client', usage: 'client' }),
    issueCertificate(ca, { commonName: 'argus-admin', organizations: ['system:masters'], usage: 'client' }),
  ]);
  return { ca, frontProxyCa, frontProxyClient, admin };
}

/** Removes directories left by test processes that were killed before they could clean up. */
function sweepAbandoned(): void {
  for (const parent of [tmpdir(), '/dev/shm']) {
    let entries: string[];
    try {
      entries = readdirSync(parent).filter((e) => e.startsWith('argus-cp-') || e.startsWith('argus-etcd-'));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const dir = join(parent, entry);
      try {
        const pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
        if (pid && !alive(pid)) rmSync(dir, { recursive: true, force: true });
      } catch {
        // no owner file yet: being created right now, or not ours
      }
    }
  }
}
