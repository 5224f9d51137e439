// A node agent for the testbed: scheduler and kubelet in one, for pods whose containers all use the Argus
// image, so that Jobs created by Argus controllers really run. Such pods are bound to the agent's Node and
// their containers run as local processes (`argus` is this repository's CLI), each in its own mount
// namespace where the pod's volumes appear at their mountPaths (bind mounts, util-linux unshare). The Node
// is kept alive with a Lease and Ready heartbeats, so kube-controller-manager treats it like any other.
// Pods with other images are left alone and stay Pending.
//
// Node-level compliance rules. With `kubelet: {...}` the agent also serves the kubelet API that rules use
// through the API server: `GET /api/v1/nodes/<node>/proxy/configz` and `pods/exec` (kubelet-api.ts; the
// Node's InternalIP is then a non-loopback address in a network namespace of its own, kubelet-net.ts). The
// node itself (node-host.ts) is what a privileged ops pod (hostPID, hostPath `/` at `/host`) sees:
// - Files: `agent.nodeRoot` is the node's `/`; hostPath volumes resolve under it. `agent.writeNodeFile(path,
//   content, { mode, uid, gid })` lays files out; tests chmod/chown them to make rules fail.
//   - kubelet config file owner/permissions (242406/242407): the file named by the kubelet's `--config`
//     (default /var/lib/kubelet/config.yaml), which the agent writes as YAML from the configuration (mode 0644,
//     kept on rewrites; `kubelet.writeConfigFile: false` leaves it to the test).
//   - kubelet PKI (242449-242453, 242466/242467): files the configuration and flags name, e.g.
//     authentication.x509.clientCAFile /var/lib/kubelet/ca.crt, tlsCertFile/tlsPrivateKeyFile
//     /var/lib/kubelet/pki/kubelet.{crt,key}, `--kubeconfig` /var/lib/kubelet/kubeconfig; the test writes them.
//   - kube-proxy kubeconfig (242447/242448): e.g. /var/lib/kube-proxy/kubeconfig, named by the `--kubeconfig`
//     flag of a kube-proxy host process (startHostProcess) or of a kube-proxy pod's command.
//   - sshd enabled (242394): a unit symlink such as /etc/systemd/system/multi-user.target.wants/ssh.service;
//     the node has no systemd, so rules read the node root rather than call systemctl.
// - Processes: the node has its own PID namespace. PID 1 is a dummy named `systemd` (cmdline /sbin/init);
//   `agent.kubeletProcess` is the dummy kubelet (comm `kubelet`, /proc/<pid>/cmdline = the configured
//   command line, default DEFAULT_KUBELET_COMMAND), restarted with another command line by
//   `setKubeletCommandLine(argv)` (say with `--hostname-override`, 242404); `startHostProcess(argv)` adds
//   others, such as `['/usr/sbin/sshd', '-D']` for sshd running (242393). Pods with hostPID run in that
//   namespace with its /proc mounted, so `pgrep -xo kubelet`, `/proc/<pid>/cmdline` and `ps` show this
//   node only, even with several agents on one machine. `HostProcess.pid` is the PID those pods see.
// - Configuration: `kubelet.config` (a JSON merge patch over defaultKubeletConfig(), which passes the STIG
//   kubelet rules) and `setKubeletConfig(patch)` later; /configz shows it at once, and anonymous
//   authentication and the authorization mode apply to the kubelet API itself.
// Pods with hostNetwork still share the machine's network (they reach the API server on 127.0.0.1), and
// privileged pods are accepted: there is no isolation to lift.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { V1Node, V1NodeCondition, V1Pod } from '@kubernetes/client-node';
import { isConflict, isNotFound, type KubeClient } from '../../../src/kube/client.ts';
import { Resources, type KubeList, type KubeObject } from '../../../src/kube/resources.ts';
import { errorMessage, logger, type Logger } from '../../../src/util/log.ts';
import { microTime, sleep } from '../../../src/util/time.ts';
import type { ControlPlane } from '../controlplane.ts';
import {
  AGENT_DIR_PREFIX,
  agentRoot,
  hostTools,
  OWNER_FILE,
  releaseMountPoints,
  sweepAbandoned,
  type HostTools,
} from './host.ts';
import { KubeletServer, type ExecTarget } from './kubelet-api.ts';
import { configFile, defaultKubeletConfig, flagValue, mergePatch, type KubeletConfig } from './kubelet-config.ts';
import { NodeHost, type HostProcess, type NodeFileOptions } from './node-host.ts';
import { PodWorker, type PodProcess, type WorkerContext } from './pod-runner.ts';
import { backoffMs, isTerminal, POD_IP, uidOf } from './util.ts';

export { agentsRunningOnHost } from './host.ts';
export { defaultKubeletConfig, type KubeletConfig } from './kubelet-config.ts';
export { linkExists } from './kubelet-net.ts';
export type { HostProcess, NodeFileOptions } from './node-host.ts';
export type { PodProcess } from './pod-runner.ts';

/** The kubelet's command line unless a test sets another. */
export const DEFAULT_KUBELET_COMMAND: readonly string[] = [
  '/usr/bin/kubelet',
  '--config=/var/lib/kubelet/config.yaml',
  '--kubeconfig=/var/lib/kubelet/kubeconfig',
  '--bootstrap-kubeconfig=/var/lib/kubelet/kubeconfig-bootstrap',
  '--container-runtime-endpoint=unix:///run/containerd/containerd.sock',
  '--v=2',
];

export interface KubeletOptions {
  /** A JSON merge patch over defaultKubeletConfig(): objects merge, null removes a field. */
  config?: Record<string, unknown>;
  /** The kubelet process's command line (default DEFAULT_KUBELET_COMMAND). */
  commandLine?: readonly string[];
  /** Write the configuration as YAML to the node-root file named by `--config` (default true). */
  writeConfigFile?: boolean;
}

export interface NodeAgentOptions {
  /** The Node name (default node-1, node-2, ... per process). */
  name?: string;
  /** Extra Node labels. */
  labels?: Record<string, string>;
  /** Overrides of the Node's capacity and allocatable (cpu, memory, pods). */
  capacity?: Record<string, string>;
  /**
   * Pods that may run here at once (bound and not finished); others wait unbound, as with a scheduler and
   * a full node. Default unlimited. Benchmarks set it so hundreds of Jobs do not start hundreds of processes.
   */
  maxRunningPods?: number;
  /** Serve the kubelet API (configz, exec, container logs) and run a kubelet process on the node. */
  kubelet?: KubeletOptions;
}

const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const HEARTBEAT_MS = 10_000;
const RESYNC_MS = 5_000;
const LEASE_SECONDS = 40;
const MERGE_PATCH = 'application/merge-patch+json';

let agentsStarted = 0;
const live = new Set<NodeAgent>();

process.once('exit', () => {
  for (const agent of live) agent.removeFilesSync();
});

/** Whether `image` is the Argus image: repository base name `argus`, any registry, tag or digest. */
export function isArgusImage(image: string | undefined): boolean {
  if (!image) return false;
  const withoutDigest = image.split('@')[0] ?? '';
  const baseName = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return baseName.split(':')[0] === 'argus';
}

/** One Node of a testbed control plane; see the top of this file. */
export class NodeAgent {
  readonly name: string;
  /** Temp dir with one directory per pod: volumes, container logs, termination-message files. */
  readonly dir: string;
  private readonly cp: ControlPlane;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly options: NodeAgentOptions;
  private readonly abort = new AbortController();
  private readonly tools: HostTools;
  /** Every pod of the cluster, by uid, as last seen by the watch. */
  private readonly pods = new Map<string, V1Pod>();
  private readonly workers = new Map<string, PodWorker>();
  private readonly binding = new Set<string>();
  private readonly deleting = new Set<string>();
  private readonly loops: Promise<void>[] = [];
  private stopping: Promise<void> | undefined;
  private host: NodeHost | undefined;
  private kubelet: KubeletServer | undefined;
  private kubeletConfigValue: KubeletConfig = defaultKubeletConfig();
  private kubeletProcessValue: HostProcess | undefined;
  private readonly hostProcesses = new Set<HostProcess>();

  private constructor(cp: ControlPlane, tools: HostTools, options: NodeAgentOptions) {
    this.cp = cp;
    this.tools = tools;
    this.options = options;
    this.name = options.name ?? `node-${++agentsStarted}`;
    this.client = cp.client(`argus-node-agent/${this.name}`);
    this.log = logger('node-agent', { node: this.name });
    sweepAbandoned();
    this.dir = mkdtempSync(join(agentRoot(), `${AGENT_DIR_PREFIX}${this.name}-`));
    writeFileSync(join(this.dir, OWNER_FILE), String(process.pid));
    live.add(this);
  }

  /** Registers the Node and starts binding and running pods of the Argus image. */
  static async start(cp: ControlPlane, options: NodeAgentOptions = {}): Promise<NodeAgent> {
    const agent = new NodeAgent(cp, hostTools(), options);
    try {
      agent.host = await NodeHost.start(agent.dir, agent.tools);
      if (options.kubelet) await agent.startKubelet(options.kubelet);
      await agent.register();
      agent.loops.push(agent.watchPods(), agent.heartbeats(), agent.resyncs());
      return agent;
    } catch (err) {
      await agent.stop();
      throw err;
    }
  }

  /** The log of the current run of `container` (default: the first container) of a pod on this node. */
  logs(namespace: string, pod: string, container?: string): string {
    const worker = [...this.workers.values()]
      .reverse()
      .find((w) => w.pod.metadata?.namespace === namespace && w.pod.metadata?.name === pod);
    if (!worker) throw new Error(`pod ${namespace}/${pod} has not run on node ${this.name}`);
    return worker.logs(container);
  }

  /** The container processes running now. */
  processes(): PodProcess[] {
    return [...this.workers.values()].flatMap((w) => w.processes());
  }

  // --- The node as ops pods see it --------------------------------------------------------------------------

  /** The node's `/` on the machine: hostPath volumes resolve under it. */
  get nodeRoot(): string {
    return this.nodeHost().root;
  }

  /** Writes a file into the node root (parents 0755), mode default 0644, owner default root. */
  writeNodeFile(path: string, content: string | Buffer, options: NodeFileOptions = {}): string {
    return this.nodeHost().writeFile(path, content, options);
  }

  /** Starts a dummy process in the node's PID namespace with `argv` as its command line; stop() ends it. */
  async startHostProcess(argv: readonly string[], name?: string): Promise<HostProcess> {
    const proc = await this.nodeHost().startProcess(argv, name);
    this.hostProcesses.add(proc);
    return { ...proc, stop: () => (this.hostProcesses.delete(proc), proc.stop()) };
  }

  /** The node's InternalIP: where kube-apiserver reaches the kubelet API (127.0.0.1 without one). */
  get internalIP(): string {
    return this.kubelet?.address ?? POD_IP;
  }

  /** The machine-side network link of the kubelet's namespace (undefined without a kubelet API). */
  get kubeletLink(): string | undefined {
    return this.kubelet?.link;
  }

  /** The KubeletConfiguration that /configz shows (a copy). */
  get kubeletConfig(): KubeletConfig {
    return structuredClone(this.kubeletConfigValue);
  }

  /** Applies a JSON merge patch to the KubeletConfiguration (null removes a field) and rewrites its file. */
  setKubeletConfig(patch: Record<string, unknown>): KubeletConfig {
    this.kubeletConfigValue = mergePatch(this.kubeletConfigValue, patch) as KubeletConfig;
    this.writeKubeletConfigFile();
    return this.kubeletConfig;
  }

  /** The kubelet process (undefined without `kubelet` options). */
  get kubeletProcess(): HostProcess | undefined {
    return this.kubeletProcessValue;
  }

  /** Replaces the kubelet process by one with another command line (a new PID); rewrites the config file. */
  async setKubeletCommandLine(argv: readonly string[]): Promise<HostProcess> {
    if (!this.kubelet) throw new Error(`node ${this.name} was started without a kubelet`);
    const old = this.kubeletProcessValue;
    this.kubeletProcessValue = undefined;
    await old?.stop();
    this.kubeletProcessValue = await this.startHostProcess(argv, 'kubelet');
    this.writeKubeletConfigFile();
    return this.kubeletProcessValue;
  }

  private nodeHost(): NodeHost {
    if (!this.host) throw new Error(`node ${this.name} is not started`);
    return this.host;
  }

  private async startKubelet(options: KubeletOptions): Promise<void> {
    this.kubeletConfigValue = mergePatch(defaultKubeletConfig(), options.config ?? {}) as KubeletConfig;
    this.kubelet = await KubeletServer.start(
      {
        nodeName: this.name,
        config: () => this.kubeletConfigValue,
        pods: () => [...this.workers.values()].map((w) => w.pod),
        logs: (namespace, pod, container) => this.logs(namespace, pod, container),
        execTarget: (namespace, pod, container) => this.execTarget(namespace, pod, container),
      },
      this.cp.pki.ca,
      this.tools,
      this.log,
    );
    this.kubeletProcessValue = await this.startHostProcess(options.commandLine ?? DEFAULT_KUBELET_COMMAND, 'kubelet');
    this.writeKubeletConfigFile();
  }

  /** The configuration as YAML in the file named by the kubelet's --config, keeping its mode and owner. */
  private writeKubeletConfigFile(): void {
    if (this.options.kubelet?.writeConfigFile === false || !this.kubeletProcessValue) return;
    const path = flagValue(this.kubeletProcessValue.argv.slice(1), 'config');
    if (!path) return;
    const file = this.nodeHost().path(path);
    if (existsSync(file)) writeFileSync(file, configFile(this.kubeletConfigValue));
    else this.writeNodeFile(path, configFile(this.kubeletConfigValue));
  }

  private execTarget(namespace: string, pod: string, container: string): ExecTarget | string {
    const worker = [...this.workers.values()]
      .reverse()
      .find((w) => w.pod.metadata?.namespace === namespace && w.pod.metadata?.name === pod);
    if (!worker) return `pod ${namespace}/${pod} does not exist on node ${this.name}`;
    return worker.execTarget(container);
  }

  /** Kills every container process, deletes the Node and removes every file of the agent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      for (const worker of this.workers.values()) worker.terminate(0);
      await this.kubelet?.close();
      await Promise.all([...this.loops, ...[...this.workers.values()].map((w) => w.finished)]);
      await Promise.all([...this.hostProcesses].map((p) => p.stop()));
      await this.host?.stop();
      for (const rt of [Resources.leases, Resources.nodes]) {
        const namespace = rt === Resources.leases ? NODE_LEASE_NAMESPACE : undefined;
        await this.client
          .request('DELETE', this.client.path(rt, { namespace, name: this.name }), { timeoutMs: 5000 })
          .catch((err: unknown) => {
            if (!isNotFound(err)) this.log.warn({ err: errorMessage(err) }, `could not delete ${rt.kind} ${this.name}`);
          });
      }
      await this.client.close();
      this.removeFilesSync();
    })();
    return this.stopping;
  }

  /** Kills what still runs and removes the agent's files and, when it is the last agent, the mount points. */
  removeFilesSync(): void {
    for (const worker of this.workers.values()) worker.killSync();
    this.host?.killSync();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
    releaseMountPoints();
  }

  /** A request that stop() aborts. */
  private api<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    return this.client.request<T>(method, path, {
      body,
      signal: this.abort.signal,
      ...(contentType ? { contentType } : {}),
    });
  }

  private context(): WorkerContext {
    return {
      nodeName: this.name,
      log: this.log,
      tools: this.tools,
      signal: this.abort.signal,
      nodeRoot: this.nodeHost().root,
      nodeInitPid: this.nodeHost().initPid,
      apiServerPort: () => this.cp.apiServerPort,
      api: (method, path, body) => this.api(method, path, body),
    };
  }

  // --- Node and Lease -----------------------------------------------------------------------------------

  private async register(): Promise<void> {
    const version = await this.api<{ gitVersion?: string }>('GET', '/version');
    // A Node of the same name from an earlier run would carry stale pods and conditions.
    await this.client.deleteIfExists(Resources.nodes, this.name);
    await this.client.deleteIfExists(Resources.leases, this.name, NODE_LEASE_NAMESPACE);
    const node = await this.client.create<V1Node>(Resources.nodes, this.nodeObject(version.gitVersion ?? 'v0.0.0'));
    await this.client.create(Resources.leases, this.leaseObject(node.metadata?.uid ?? ''));
  }

  private nodeObject(kubeletVersion: string): V1Node {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const resources = {
      cpu: String(availableParallelism()),
      memory: `${Math.floor(totalmem() / 1024)}Ki`,
      pods: '110',
      ...this.options.capacity,
    };
    return {
      metadata: {
        name: this.name,
        labels: {
          'kubernetes.io/hostname': this.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': arch,
          ...this.options.labels,
        },
      },
      spec: {},
      status: {
        capacity: resources,
        allocatable: resources,
        conditions: nodeConditions(),
        addresses: [
          { type: 'InternalIP', address: this.internalIP },
          { type: 'Hostname', address: this.name },
        ],
        // Port 0 without a kubelet API: the API server only reaches nodes at non-loopback addresses.
        daemonEndpoints: { kubeletEndpoint: { Port: this.kubelet?.port ?? 0 } },
        // kube-apiserver then passes exec WebSockets through to the kubelet instead of translating to SPDY.
        ...(this.kubelet ? { declaredFeatures: ['ExtendWebSocketsToKubelet'] } : {}),
        nodeInfo: {
          machineID: randomBytes(16).toString('hex'),
          systemUUID: randomUUID(),
          bootID: randomUUID(),
          kernelVersion: release(),
          osImage: 'Argus testbed node agent',
          containerRuntimeVersion: 'argus://0.1.0',
          kubeletVersion,
          kubeProxyVersion: '',
          operatingSystem: 'linux',
          architecture: arch,
        },
      },
    };
  }

  private leaseObject(nodeUid: string): KubeObject & { spec: Record<string, unknown> } {
    return {
      metadata: {
        name: this.name,
        namespace: NODE_LEASE_NAMESPACE,
        // As the kubelet does: the garbage collector removes the Lease with its Node.
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: nodeUid }],
      },
      spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() },
    };
  }

  /** Renews the Lease and the Ready condition, so the node lifecycle controller never marks the Node NotReady. */
  private async heartbeat(): Promise<void> {
    const nodeStatus = this.client.path(Resources.nodes, { name: this.name, subresource: 'status' });
    const conditions = nodeConditions().map(({ lastTransitionTime: _unchanged, ...c }) => c);
    try {
      await this.api('PATCH', nodeStatus, { status: { conditions } }, 'application/strategic-merge-patch+json');
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.log.warn('the Node was deleted; registering again');
      return this.register();
    }
    const leases = this.client.path(Resources.leases, { namespace: NODE_LEASE_NAMESPACE });
    try {
      await this.api('PATCH', `${leases}/${this.name}`, { spec: { renewTime: microTime() } }, MERGE_PATCH);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const node = await this.api<V1Node>('GET', this.client.path(Resources.nodes, { name: this.name }));
      await this.api('POST', leases, this.leaseObject(node.metadata?.uid ?? ''));
    }
  }

  private async heartbeats(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await sleep(HEARTBEAT_MS, signal);
      if (signal.aborted) return;
      await this.heartbeat().catch((err: unknown) => {
        if (!signal.aborted) this.log.warn({ err: errorMessage(err) }, 'node heartbeat failed');
      });
    }
  }

  // --- Pods ---------------------------------------------------------------------------------------------

  /** List, then watch from the list's resourceVersion; any error (410 Gone included) starts over with a list. */
  private async watchPods(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const list = await this.api<KubeList<V1Pod>>('GET', this.client.path(Resources.pods));
        let resourceVersion = list.metadata.resourceVersion;
        this.replaceAll(list.items);
        while (!signal.aborted) {
          const events = this.client.watch<V1Pod>(Resources.pods, {
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: 300,
            signal,
          });
          for await (const { type, object } of events) {
            resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
            if (type === 'BOOKMARK') continue;
            if (type === 'DELETED') this.forget(object);
            else this.observe(object);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ err: errorMessage(err) }, 'pod watch failed; listing again');
        await sleep(1000, signal);
      }
    }
  }

  /** Reconciles every known pod now and then: retries bindings and deletions that failed. */
  private async resyncs(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await sleep(RESYNC_MS, signal);
      for (const pod of this.pods.values()) this.reconcile(pod);
    }
  }

  private replaceAll(pods: V1Pod[]): void {
    const uids = new Set(pods.map(uidOf));
    for (const pod of this.pods.values()) if (!uids.has(uidOf(pod))) this.forget(pod);
    for (const pod of pods) this.observe(pod);
  }

  private observe(pod: V1Pod): void {
    this.pods.set(uidOf(pod), pod);
    this.reconcile(pod);
    // A slot came free: bind waiting pods now rather than at the next resync.
    if (this.options.maxRunningPods !== undefined && pod.spec?.nodeName === this.name && isTerminal(pod)) {
      for (const waiting of this.pods.values()) if (!waiting.spec?.nodeName) this.reconcile(waiting);
    }
  }

  /** Whether another pod may be bound here under `maxRunningPods`. */
  private hasFreeSlot(): boolean {
    const max = this.options.maxRunningPods;
    if (max === undefined) return true;
    let running = this.binding.size;
    for (const pod of this.pods.values()) if (pod.spec?.nodeName === this.name && !isTerminal(pod)) running++;
    return running < max;
  }

  /** The pod is gone from the API: kill what still runs and drop its files. */
  private forget(pod: V1Pod): void {
    const uid = uidOf(pod);
    this.pods.delete(uid);
    this.deleting.delete(uid);
    const worker = this.workers.get(uid);
    if (!worker) return;
    worker.terminate(0);
    void worker.finished.then(() => {
      if (this.workers.get(uid) !== worker || this.abort.signal.aborted) return;
      this.workers.delete(uid);
      rmSync(worker.dir, { recursive: true, force: true });
    });
  }

  private reconcile(pod: V1Pod): void {
    if (this.abort.signal.aborted) return;
    const uid = uidOf(pod);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      if (this.shouldBind(pod)) void this.bind(pod);
      return;
    }
    if (nodeName !== this.name) return;
    const deletionRequested = pod.metadata?.deletionTimestamp !== undefined;
    let worker = this.workers.get(uid);
    if (worker) {
      worker.pod = pod;
    } else {
      if (deletionRequested) {
        void this.deleteNow(pod);
        return;
      }
      if (isTerminal(pod)) return;
      if (!runsArgusImage(pod)) return; // bound here by someone else; this node cannot run it
      worker = new PodWorker(
        this.context(),
        pod,
        join(this.dir, 'pods', `${pod.metadata?.namespace}_${pod.metadata?.name}_${uid}`),
      );
      this.workers.set(uid, worker);
    }
    if (deletionRequested && !worker.deleting) void this.deleteGracefully(worker, pod);
  }

  private shouldBind(pod: V1Pod): boolean {
    const selector = pod.spec?.nodeSelector ?? {};
    const labels: Record<string, string> = {
      'kubernetes.io/hostname': this.name,
      'kubernetes.io/os': 'linux',
      ...this.options.labels,
    };
    return (
      !this.binding.has(uidOf(pod)) &&
      pod.metadata?.deletionTimestamp === undefined &&
      !pod.spec?.schedulingGates?.length &&
      !isTerminal(pod) &&
      runsArgusImage(pod) &&
      Object.entries(selector).every(([key, value]) => labels[key] === value) &&
      this.hasFreeSlot()
    );
  }

  /** POST pods/binding, as the scheduler does; with several agents the API server lets exactly one win. */
  private async bind(pod: V1Pod): Promise<void> {
    const uid = uidOf(pod);
    const { namespace, name } = pod.metadata ?? {};
    this.binding.add(uid);
    try {
      await this.api('POST', this.client.path(Resources.pods, { namespace, name, subresource: 'binding' }), {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace, uid },
        target: { apiVersion: 'v1', kind: 'Node', name: this.name },
      });
      // Counted as running here until the watch shows the binding (maxRunningPods).
      const known = this.pods.get(uid);
      if (known && !known.spec?.nodeName)
        this.pods.set(uid, { ...known, spec: { ...known.spec!, nodeName: this.name } });
    } catch (err) {
      // 409: another agent won, or the pod was replaced; 404: the pod is gone.
      if (!isConflict(err) && !isNotFound(err) && !this.abort.signal.aborted) {
        this.log.warn(
          { err: errorMessage(err), pod: `${namespace}/${name}` },
          'binding failed; retrying at the next resync',
        );
      }
    } finally {
      this.binding.delete(uid);
    }
  }

  /** As the kubelet does: SIGTERM, SIGKILL after the grace period, final status, then the deletion proper. */
  private async deleteGracefully(worker: PodWorker, pod: V1Pod): Promise<void> {
    worker.deleting = true;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    worker.terminate(grace * 1000);
    await worker.finished;
    await this.deleteNow(pod);
  }

  /** DELETE with gracePeriodSeconds=0: the pod disappears unless finalizers (say Job tracking) keep it. */
  private async deleteNow(pod: V1Pod): Promise<void> {
    const uid = uidOf(pod);
    if (this.deleting.has(uid)) return;
    this.deleting.add(uid);
    const { namespace, name } = pod.metadata ?? {};
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      try {
        await this.api('DELETE', this.client.path(Resources.pods, { namespace, name }), {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          gracePeriodSeconds: 0,
          preconditions: { uid },
        });
        return;
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) return; // gone, or replaced by a pod of the same name
        if (this.abort.signal.aborted) return;
        this.log.warn({ err: errorMessage(err), pod: `${namespace}/${name}` }, 'pod deletion failed; retrying');
        await sleep(backoffMs(attempt), this.abort.signal);
      }
    }
  }
}
// --- Small helpers ---------------------------------------------------------------------------------------

function nodeConditions(): V1NodeCondition[] {
  const now = new Date();
  const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return [
    condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'node agent has sufficient memory available'),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'node agent has no disk pressure'),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'node agent has sufficient PID available'),
    condition('Ready', 'True', 'KubeletReady', 'node agent is posting ready status'),
  ];
}

const runsArgusImage = (pod: V1Pod): boolean => {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return containers.length > 0 && containers.every((c) => isArgusImage(c.image));
};
