// A node agent for the testbed: scheduler and kubelet in one, for pods whose containers all use the Argus
// image, so that Jobs created by Argus controllers really run. Such pods are bound to the agent's Node and
// their containers run as local processes (`argus` is this repository's CLI), each in its own mount
// namespace where the pod's volumes appear at their mountPaths (bind mounts, util-linux unshare). The Node
// is kept alive with a Lease and Ready heartbeats, so kube-controller-manager treats it like any other.
// Pods with other images are left alone and stay Pending.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, constants as osConstants, release, tmpdir, totalmem } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type {
  V1Container,
  V1ContainerState,
  V1ContainerStatus,
  V1DownwardAPIVolumeFile,
  V1EnvVarSource,
  V1KeyToPath,
  V1Node,
  V1NodeCondition,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';
import { isConflict, isNotFound, type KubeClient } from '../../src/kube/client.ts';
import { Resources, type KubeList, type KubeObject } from '../../src/kube/resources.ts';
import { logger, type Logger } from '../../src/util/log.ts';
import { sleep } from '../../src/util/time.ts';
import type { ControlPlane } from './controlplane.ts';
import { alive } from './process.ts';

export interface NodeAgentOptions {
  /** The Node name (default node-1, node-2, ... per process). */
  name?: string;
  /** Extra Node labels. */
  labels?: Record<string, string>;
  /** Overrides of the Node's capacity and allocatable (cpu, memory, pods). */
  capacity?: Record<string, string>;
}

/** A container process of a pod, as the host sees it. */
export interface PodProcess {
  namespace: string;
  pod: string;
  container: string;
  pid: number;
}

const CLI = resolve(import.meta.dirname, '../../src/cli/main.ts');
const POD_IP = '127.0.0.1';
const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const HEARTBEAT_MS = 10_000;
const RESYNC_MS = 5_000;
const LEASE_SECONDS = 40;
const AGENT_DIR_PREFIX = 'argus-node-';
const OWNER_FILE = 'owner.pid';
// Directories and files created on the host as mount points, shared by every agent on the machine.
const MOUNT_POINTS_FILE = join(tmpdir(), 'argus-mount-points.list');
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

/**
 * One Node of a testbed control plane. The kubelet API (container logs, exec, port-forward through the
 * API server) will be served from this class too, once nodes get a non-loopback InternalIP: logs() and
 * processes() are what it will expose, and the Node's daemonEndpoints.kubeletEndpoint its port.
 */
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

  private constructor(cp: ControlPlane, tools: HostTools, options: NodeAgentOptions) {
    this.cp = cp;
    this.tools = tools;
    this.options = options;
    this.name = options.name ?? `node-${++agentsStarted}`;
    this.client = cp.client(`argus-node-agent/${this.name}`);
    this.log = logger('node-agent', { node: this.name });
    sweepAbandoned();
    this.dir = mkdtempSync(join(tmpdir(), `${AGENT_DIR_PREFIX}${this.name}-`));
    writeFileSync(join(this.dir, OWNER_FILE), String(process.pid));
    live.add(this);
  }

  /** Registers the Node and starts binding and running pods of the Argus image. */
  static async start(cp: ControlPlane, options: NodeAgentOptions = {}): Promise<NodeAgent> {
    const agent = new NodeAgent(cp, hostTools(), options);
    try {
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

  /** Kills every container process, deletes the Node and removes every file of the agent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      for (const worker of this.workers.values()) worker.terminate(0);
      await Promise.all([...this.loops, ...[...this.workers.values()].map((w) => w.finished)]);
      for (const rt of [Resources.leases, Resources.nodes]) {
        const namespace = rt === Resources.leases ? NODE_LEASE_NAMESPACE : undefined;
        await this.client
          .request('DELETE', this.client.path(rt, { namespace, name: this.name }), { timeoutMs: 5000 })
          .catch((err: unknown) => {
            if (!isNotFound(err)) this.log.warn({ err: message(err) }, `could not delete ${rt.kind} ${this.name}`);
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
          { type: 'InternalIP', address: POD_IP },
          { type: 'Hostname', address: this.name },
        ],
        // No kubelet API yet: the API server only reaches nodes at non-loopback addresses.
        daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
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
        if (!signal.aborted) this.log.warn({ err: message(err) }, 'node heartbeat failed');
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
        this.log.warn({ err: message(err) }, 'pod watch failed; listing again');
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
      Object.entries(selector).every(([key, value]) => labels[key] === value)
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
    } catch (err) {
      // 409: another agent won, or the pod was replaced; 404: the pod is gone.
      if (!isConflict(err) && !isNotFound(err) && !this.abort.signal.aborted) {
        this.log.warn(
          { err: message(err), pod: `${namespace}/${name}` },
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
        this.log.warn({ err: message(err), pod: `${namespace}/${name}` }, 'pod deletion failed; retrying');
        await sleep(backoffMs(attempt), this.abort.signal);
      }
    }
  }
}

// --- Running one pod ---------------------------------------------------------------------------------------

interface WorkerContext {
  nodeName: string;
  log: Logger;
  tools: HostTools;
  /** Aborted when the agent stops: ends waits and requests, and status updates stop. */
  signal: AbortSignal;
  apiServerPort(): number;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
}

interface ContainerRun {
  spec: V1Container;
  init: boolean;
  restartCount: number;
  state: V1ContainerState;
  lastState: V1ContainerState;
  containerID?: string;
  logFile?: string;
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  file: boolean;
}

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** Runs one pod: volumes, init containers in order, then containers concurrently, and reports its status. */
class PodWorker {
  pod: V1Pod;
  readonly dir: string;
  /** Settles when every process has exited and the final status was written (or the agent stopped). */
  readonly finished: Promise<void>;
  /** The agent handles the pod's deletion. */
  deleting = false;
  private readonly ctx: WorkerContext;
  private readonly inits: ContainerRun[];
  private readonly containers: ContainerRun[];
  private readonly running = new Map<ChildProcess, ContainerRun>();
  /** Wakes back-off waits when the pod is being terminated. */
  private readonly wake = new AbortController();
  private readonly volumes = new Map<string, string>();
  private readonly startTime = new Date();
  private stopping = false;
  private sentSignal: 'SIGTERM' | 'SIGKILL' | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private volumesReady = false;
  private initialized = false;
  private deadlineExceeded = false;
  private finalPhase: Phase | undefined;
  private statusChain: Promise<void> = Promise.resolve();
  private statusVersion = 0;
  private statusWritten = 0;

  constructor(ctx: WorkerContext, pod: V1Pod, dir: string) {
    this.ctx = ctx;
    this.pod = pod;
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    const run = (spec: V1Container, init: boolean): ContainerRun => ({
      spec,
      init,
      restartCount: 0,
      state: {
        waiting: { reason: init || !pod.spec?.initContainers?.length ? 'ContainerCreating' : 'PodInitializing' },
      },
      lastState: {},
    });
    this.inits = (pod.spec?.initContainers ?? []).map((c) => run(c, true));
    this.containers = (pod.spec?.containers ?? []).map((c) => run(c, false));
    this.finished = this.run().catch((err: unknown) =>
      this.ctx.log.error({ err: message(err), pod: this.key }, 'pod worker failed'),
    );
  }

  get key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  logs(container?: string): string {
    const run = container
      ? [...this.inits, ...this.containers].find((c) => c.spec.name === container)
      : this.containers[0];
    if (!run) throw new Error(`pod ${this.key} has no container ${container}`);
    return run.logFile && existsSync(run.logFile) ? readFileSync(run.logFile, 'utf8') : '';
  }

  processes(): PodProcess[] {
    const { namespace = '', name = '' } = this.pod.metadata ?? {};
    return [...this.running].flatMap(([child, c]) =>
      child.pid ? [{ namespace, pod: name, container: c.spec.name, pid: child.pid }] : [],
    );
  }

  /** Stops the pod: SIGTERM now and SIGKILL after `graceMs` (at once when 0). Containers are not restarted. */
  terminate(graceMs: number): void {
    this.stopping = true;
    this.wake.abort();
    if (this.finalPhase !== undefined) return;
    const signal = graceMs > 0 ? 'SIGTERM' : 'SIGKILL';
    if (this.sentSignal === 'SIGKILL' || this.sentSignal === signal) return;
    this.sentSignal = signal;
    for (const child of this.running.keys()) child.kill(signal);
    if (signal === 'SIGTERM') this.killTimer = setTimeout(() => this.terminate(0), graceMs).unref();
  }

  killSync(): void {
    this.stopping = true;
    for (const child of this.running.keys()) child.kill('SIGKILL');
  }

  private async run(): Promise<void> {
    await this.syncStatus();
    const deadlineSeconds = this.pod.spec?.activeDeadlineSeconds;
    const deadline = deadlineSeconds
      ? setTimeout(() => {
          this.deadlineExceeded = true;
          this.terminate((this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
        }, deadlineSeconds * 1000)
      : undefined;
    let initialized = false;
    try {
      this.volumesReady = await this.retry(
        () => this.prepareVolumes(),
        (err) => {
          for (const c of [...this.inits, ...this.containers]) {
            c.state = { waiting: { reason: 'ContainerCreating', message: `volumes: ${message(err)}` } };
          }
        },
      );
      if (this.volumesReady) {
        void this.syncStatus();
        initialized = true;
        for (const c of this.inits) {
          if (!(await this.runContainer(c))) {
            initialized = false;
            break;
          }
        }
        this.initialized = initialized;
        if (initialized) await Promise.all(this.containers.map((c) => this.runContainer(c)));
      }
    } finally {
      clearTimeout(deadline);
      clearTimeout(this.killTimer);
    }
    const succeeded = initialized && this.containers.every((c) => c.state.terminated?.exitCode === 0);
    this.finalPhase = succeeded && !this.deadlineExceeded ? 'Succeeded' : 'Failed';
    await this.syncStatus();
  }

  /** Runs a container until it is done for good, restarting it as restartPolicy says; true when it exited 0. */
  private async runContainer(c: ContainerRun): Promise<boolean> {
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    for (;;) {
      let exitCode: number | undefined;
      const started = await this.retry(
        async () => {
          exitCode = await this.runOnce(c);
        },
        (err) => (c.state = { waiting: { reason: 'CreateContainerConfigError', message: message(err) } }),
      );
      if (!started || exitCode === undefined) return false;
      const restart = c.init
        ? policy !== 'Never' && exitCode !== 0
        : policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
      if (!restart || this.stopping) return exitCode === 0;
      c.lastState = c.state;
      c.restartCount++;
      c.state = {
        waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.spec.name}` },
      };
      void this.syncStatus();
      // Exponential back-off as in the kubelet, but capped at seconds rather than minutes.
      await sleep(Math.min(200 * 2 ** (c.restartCount - 1), 5000), this.wake.signal);
    }
  }

  /** Runs one instance of a container; undefined when the pod stopped before it started. */
  private async runOnce(c: ContainerRun): Promise<number | undefined> {
    const env = await this.environment(c.spec);
    const dir = join(this.dir, 'containers', c.spec.name);
    mkdirSync(dir, { recursive: true });
    const logFile = join(dir, `${c.restartCount}.log`);
    const messageFile = join(dir, `${c.restartCount}.termination-log`);
    writeFileSync(messageFile, '');
    const mounts = this.mounts(c.spec, env, messageFile);
    for (const mount of mounts) ensureMountPoint(mount.target, mount.file);
    const argv = commandLine(c.spec, env);
    if (this.stopping) return undefined;

    const { setpriv, unshare, sh } = this.ctx.tools;
    const script = mountScript(this.ctx.tools, mounts, c.spec.workingDir);
    const fd = openSync(logFile, 'a');
    // PDEATHSIG: the kernel kills the container when the agent's process dies, however it dies.
    const child = spawn(
      setpriv,
      [
        '--pdeathsig',
        'KILL',
        '--',
        unshare,
        '--mount',
        '--propagation',
        'private',
        '--',
        sh,
        '-c',
        script,
        'sh',
        ...argv,
      ],
      { stdio: ['ignore', fd, fd], env, cwd: '/' },
    );
    closeSync(fd);
    const exited = new Promise<{ code: number; signal?: number }>((resolve) => {
      child.once('exit', (code, signal) => {
        const signalNumber = signal ? osConstants.signals[signal] : undefined;
        resolve(code !== null ? { code } : { code: 128 + (signalNumber ?? 0), signal: signalNumber });
      });
      child.once('error', (err) => {
        appendFileSync(logFile, `${err.message}\n`);
        resolve({ code: 128 });
      });
    });
    this.running.set(child, c);
    if (this.sentSignal) child.kill(this.sentSignal);
    const startedAt = new Date();
    const containerID = `argus://${randomBytes(16).toString('hex')}`;
    Object.assign(c, { logFile, containerID, state: { running: { startedAt } } });
    void this.syncStatus();

    const { code, signal } = await exited;
    this.running.delete(child);
    c.state = {
      terminated: {
        exitCode: code,
        ...(signal ? { signal } : {}),
        reason: code === 0 ? 'Completed' : 'Error',
        message: terminationMessage(c.spec, messageFile, logFile, code),
        startedAt,
        finishedAt: new Date(),
        containerID,
      },
    };
    void this.syncStatus();
    return code;
  }

  /** Calls `fn` until it succeeds; false when the pod stops first. */
  private async retry(fn: () => Promise<void>, onError: (err: unknown) => void): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopping || this.ctx.signal.aborted) return false;
      try {
        await fn();
        return true;
      } catch (err) {
        if (this.stopping || this.ctx.signal.aborted) return false;
        this.ctx.log.warn({ err: message(err), pod: this.key }, 'pod not ready to run; retrying');
        onError(err);
        void this.syncStatus();
        await sleep(backoffMs(attempt), this.wake.signal);
      }
    }
  }

  // --- Environment and command ----------------------------------------------------------------------------

  private async environment(spec: V1Container): Promise<Record<string, string>> {
    const port = String(this.ctx.apiServerPort());
    // What a kubelet injects, and PATH so that commands resolve as on the host.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOSTNAME: this.pod.metadata?.name ?? '',
      KUBERNETES_SERVICE_HOST: POD_IP,
      KUBERNETES_SERVICE_PORT: port,
      KUBERNETES_SERVICE_PORT_HTTPS: port,
    };
    for (const source of spec.envFrom ?? []) {
      const ref = source.configMapRef ?? source.secretRef;
      const data = source.configMapRef
        ? await this.configMapData(ref?.name ?? '', ref?.optional)
        : await this.secretData(ref?.name ?? '', ref?.optional);
      for (const [key, value] of Object.entries(data ?? {})) env[`${source.prefix ?? ''}${key}`] = value.toString();
    }
    for (const variable of spec.env ?? []) {
      const value = variable.valueFrom ? await this.valueFrom(variable.valueFrom) : expand(variable.value ?? '', env);
      if (value !== undefined) env[variable.name] = value;
    }
    return env;
  }

  private async valueFrom(source: V1EnvVarSource): Promise<string | undefined> {
    if (source.fieldRef) return this.fieldValue(source.fieldRef.fieldPath);
    const ref = source.configMapKeyRef ?? source.secretKeyRef;
    if (!ref) throw new Error('only fieldRef, configMapKeyRef and secretKeyRef env sources are supported');
    const what = source.configMapKeyRef ? 'configmap' : 'secret';
    const data = source.configMapKeyRef
      ? await this.configMapData(ref.name ?? '', ref.optional)
      : await this.secretData(ref.name ?? '', ref.optional);
    const value = data?.[ref.key];
    if (value === undefined && !ref.optional) throw new Error(`${what} "${ref.name}" has no key "${ref.key}"`);
    return value?.toString();
  }

  private fieldValue(path: string): string {
    const { metadata = {}, spec } = this.pod;
    const item = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (item) return (item[1] === 'labels' ? metadata.labels : metadata.annotations)?.[item[2] ?? ''] ?? '';
    switch (path) {
      case 'metadata.name':
        return metadata.name ?? '';
      case 'metadata.namespace':
        return metadata.namespace ?? '';
      case 'metadata.uid':
        return metadata.uid ?? '';
      case 'metadata.labels':
        return formatMap(metadata.labels);
      case 'metadata.annotations':
        return formatMap(metadata.annotations);
      case 'spec.nodeName':
        return this.ctx.nodeName;
      case 'spec.serviceAccountName':
        return spec?.serviceAccountName ?? 'default';
      case 'status.podIP':
      case 'status.podIPs':
      case 'status.hostIP':
      case 'status.hostIPs':
        return POD_IP;
    }
    throw new Error(`fieldRef ${path} is not supported by the testbed node agent`);
  }

  private async configMapData(name: string, optional?: boolean): Promise<Record<string, Buffer> | undefined> {
    const cm = await this.getOptional<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
      'configmaps',
      name,
      optional,
    );
    if (!cm) return undefined;
    return {
      ...mapValues(cm.binaryData, (v) => Buffer.from(v, 'base64')),
      ...mapValues(cm.data, (v) => Buffer.from(v)),
    };
  }

  private async secretData(name: string, optional?: boolean): Promise<Record<string, Buffer> | undefined> {
    const secret = await this.getOptional<{ data?: Record<string, string> }>('secrets', name, optional);
    return secret && mapValues(secret.data, (v) => Buffer.from(v, 'base64'));
  }

  /** GETs a ConfigMap or Secret of the pod's namespace; a missing one is an error unless optional. */
  private async getOptional<T>(resource: string, name: string, optional?: boolean): Promise<T | undefined> {
    const namespace = this.pod.metadata?.namespace ?? '';
    try {
      return await this.ctx.api<T>('GET', `/api/v1/namespaces/${namespace}/${resource}/${name}`);
    } catch (err) {
      if (isNotFound(err) && optional) return undefined;
      if (isNotFound(err)) throw new Error(`${resource} "${name}" not found`, { cause: err });
      throw err;
    }
  }

  // --- Volumes and mounts -----------------------------------------------------------------------------------

  /** Writes every volume into the pod's directory (hostPath volumes are used in place). */
  private async prepareVolumes(): Promise<void> {
    this.volumes.clear();
    for (const volume of this.pod.spec?.volumes ?? []) {
      if (volume.hostPath) {
        ensureMountPoint(volume.hostPath.path, ['File', 'FileOrCreate'].includes(volume.hostPath.type ?? ''));
        this.volumes.set(volume.name, volume.hostPath.path);
        continue;
      }
      const dir = join(this.dir, 'volumes', volume.name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const { configMap, secret, downwardAPI, projected } = volume;
      if (volume.emptyDir) {
        // nothing to write
      } else if (configMap) {
        const data = await this.configMapData(configMap.name ?? '', configMap.optional);
        writeKeys(dir, data, configMap.items, configMap.defaultMode, configMap.optional);
      } else if (secret) {
        const data = await this.secretData(secret.secretName ?? '', secret.optional);
        writeKeys(dir, data, secret.items, secret.defaultMode, secret.optional);
      } else if (downwardAPI) {
        this.writeDownwardAPI(dir, downwardAPI.items, downwardAPI.defaultMode);
      } else if (projected) {
        for (const source of projected.sources ?? []) {
          const mode = projected.defaultMode;
          if (source.serviceAccountToken) {
            const { audience, expirationSeconds, path } = source.serviceAccountToken;
            writeFile(join(dir, path), await this.token(audience, expirationSeconds), mode);
          } else if (source.configMap) {
            const { name, items, optional } = source.configMap;
            writeKeys(dir, await this.configMapData(name ?? '', optional), items, mode, optional);
          } else if (source.secret) {
            const { name, items, optional } = source.secret;
            writeKeys(dir, await this.secretData(name ?? '', optional), items, mode, optional);
          } else if (source.downwardAPI) {
            this.writeDownwardAPI(dir, source.downwardAPI.items, mode);
          } else {
            throw new Error(`volume ${volume.name}: unsupported projected source ${Object.keys(source).join(', ')}`);
          }
        }
      } else {
        throw new Error(
          `volume ${volume.name}: the testbed supports configMap, secret, emptyDir, downwardAPI, projected and hostPath volumes`,
        );
      }
      this.volumes.set(volume.name, dir);
    }
  }

  private writeDownwardAPI(dir: string, items: V1DownwardAPIVolumeFile[] = [], defaultMode?: number): void {
    for (const item of items) {
      if (!item.fieldRef) throw new Error(`downwardAPI ${item.path}: only fieldRef is supported`);
      writeFile(join(dir, item.path), this.fieldValue(item.fieldRef.fieldPath), item.mode ?? defaultMode);
    }
  }

  /** A service-account token from the TokenRequest API, bound to the pod like the kubelet's. */
  private async token(audience: string | undefined, expirationSeconds: number | undefined): Promise<string> {
    const { namespace, name, uid } = this.pod.metadata ?? {};
    const serviceAccount = this.pod.spec?.serviceAccountName ?? 'default';
    const review = await this.ctx.api<{ status?: { token?: string } }>(
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: audience ? [audience] : [], // none: the API server's own audiences
          expirationSeconds: expirationSeconds ?? 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid },
        },
      },
    );
    if (!review.status?.token) throw new Error(`no token for service account ${namespace}/${serviceAccount}`);
    return review.status.token;
  }

  private mounts(spec: V1Container, env: Record<string, string>, messageFile: string): Mount[] {
    const mounts: Mount[] = [];
    for (const vm of spec.volumeMounts ?? []) {
      const volume = this.volumes.get(vm.name);
      if (!volume) throw new Error(`volumeMount ${vm.mountPath}: no volume ${vm.name}`);
      const subPath = vm.subPathExpr ? expand(vm.subPathExpr, env) : vm.subPath;
      const source = subPath ? join(volume, subPath) : volume;
      if (!existsSync(source)) mkdirSync(source, { recursive: true }); // as the kubelet does for subPaths
      mounts.push({
        source,
        target: vm.mountPath,
        readOnly: vm.readOnly === true,
        file: !statSync(source).isDirectory(),
      });
    }
    const target = spec.terminationMessagePath ?? '/dev/termination-log';
    mounts.push({ source: messageFile, target, readOnly: false, file: true });
    // Parents first, so that mounts nested in other mounts stay visible.
    return mounts.sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  }

  // --- Status -------------------------------------------------------------------------------------------------

  /** Queues a status update; updates coalesce, and the last one reflects the latest state. */
  private syncStatus(): Promise<void> {
    const version = ++this.statusVersion;
    this.statusChain = this.statusChain
      .then(() => (this.statusWritten < version ? this.writeStatus() : undefined))
      .catch((err: unknown) => this.ctx.log.error({ err: message(err), pod: this.key }, 'pod status update failed'));
    return this.statusChain;
  }

  /** Read-modify-write of pods/status: keeps what others own (other conditions, qosClass), retries conflicts. */
  private async writeStatus(): Promise<void> {
    const { namespace, name, uid } = this.pod.metadata ?? {};
    const path = `/api/v1/namespaces/${namespace}/pods/${name}`;
    for (let attempt = 0; !this.ctx.signal.aborted; attempt++) {
      this.statusWritten = this.statusVersion;
      const status = this.podStatus();
      try {
        const current = await this.ctx.api<V1Pod>('GET', path);
        if (current.metadata?.uid !== uid || isTerminal(current)) return;
        const old = current.status ?? {};
        current.status = { ...old, ...status, conditions: mergeConditions(old.conditions, status.conditions) };
        await this.ctx.api('PUT', `${path}/status`, current);
        return;
      } catch (err) {
        if (isNotFound(err) || this.ctx.signal.aborted) return;
        if (isConflict(err)) continue;
        this.ctx.log.warn({ err: message(err), pod: this.key }, 'pod status update failed; retrying');
        await sleep(backoffMs(attempt), this.ctx.signal);
      }
    }
  }

  private podStatus(): V1PodStatus {
    const mains = this.containers;
    const started = mains.some((c) => c.state.running || c.state.terminated || c.restartCount > 0);
    const phase: Phase = this.finalPhase ?? (this.initialized && started ? 'Running' : 'Pending');
    const done = this.finalPhase !== undefined;
    const unready = mains.filter((c) => !c.state.running).map((c) => c.spec.name);
    const uninitialized = this.inits.filter((c) => c.state.terminated?.exitCode !== 0).map((c) => c.spec.name);
    const ready = !done && unready.length === 0;
    const readyMessage = done ? undefined : `containers with unready status: [${unready.join(' ')}]`;
    const condition = (type: string, status: boolean, reason?: string, message?: string): V1PodCondition => ({
      type,
      status: status ? 'True' : 'False',
      ...(status ? {} : { reason, message }),
      lastTransitionTime: new Date(),
    });
    return {
      phase,
      ...(this.deadlineExceeded && done
        ? { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }
        : {}),
      hostIP: POD_IP,
      hostIPs: [{ ip: POD_IP }],
      podIP: POD_IP,
      podIPs: [{ ip: POD_IP }],
      startTime: this.startTime,
      conditions: [
        condition('PodReadyToStartContainers', this.volumesReady && !done),
        condition(
          'Initialized',
          this.initialized || uninitialized.length === 0,
          'ContainersNotInitialized',
          `containers with incomplete status: [${uninitialized.join(' ')}]`,
        ),
        condition('Ready', ready, done ? 'PodCompleted' : 'ContainersNotReady', readyMessage),
        condition('ContainersReady', ready, done ? 'PodCompleted' : 'ContainersNotReady', readyMessage),
        condition('PodScheduled', true),
      ],
      ...(this.inits.length ? { initContainerStatuses: this.inits.map(containerStatus) } : {}),
      containerStatuses: mains.map(containerStatus),
    };
  }
}

function containerStatus(c: ContainerRun): V1ContainerStatus {
  const image = c.spec.image ?? '';
  const repository = image.split('@')[0]?.replace(/:[^/:]*$/, '') ?? image;
  return {
    name: c.spec.name,
    image,
    imageID: `${repository}@sha256:${createHash('sha256').update(image).digest('hex')}`,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: c.init ? c.state.terminated?.exitCode === 0 : c.state.running !== undefined,
    started: c.state.running !== undefined,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState,
  };
}

/** Ours replace theirs of the same type; lastTransitionTime only moves when the status changes. */
function mergeConditions(old: V1PodCondition[] = [], ours: V1PodCondition[] = []): V1PodCondition[] {
  const merged = old.filter((o) => !ours.some((c) => c.type === o.type));
  for (const c of ours) {
    const before = old.find((o) => o.type === c.type);
    merged.push(before?.status === c.status ? { ...c, lastTransitionTime: before.lastTransitionTime } : c);
  }
  return merged;
}

/** The termination message: the file the container wrote, or with FallbackToLogsOnError the log's tail. */
function terminationMessage(
  spec: V1Container,
  messageFile: string,
  logFile: string,
  exitCode: number,
): string | undefined {
  let text = readFileSync(messageFile).subarray(0, 4096).toString();
  if (!text && exitCode !== 0 && spec.terminationMessagePolicy === 'FallbackToLogsOnError' && existsSync(logFile)) {
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-80).join('\n');
    text = Buffer.from(lines).subarray(-2048).toString();
  }
  return text || undefined;
}

/** `command` (default: the image entrypoint `argus`) + `args`; `argus` is this repository's CLI. */
function commandLine(spec: V1Container, env: Record<string, string>): string[] {
  const argv = [...(spec.command?.length ? spec.command : ['argus']), ...(spec.args ?? [])].map((a) => expand(a, env));
  const [executable = '', ...rest] = argv;
  return executable === 'argus' || executable.endsWith('/argus') ? [process.execPath, CLI, ...rest] : argv;
}

/** The shell script that runs in the container's mount namespace: bind mounts, working dir, then the command. */
function mountScript(tools: HostTools, mounts: Mount[], workingDir: string | undefined): string {
  const lines = ['set -e'];
  for (const { source, target, readOnly, file } of mounts) {
    // Mount points were created on the host; this covers those inside other mounted volumes.
    lines.push(
      file
        ? `${tools.mkdir} -p ${quote(dirname(target))}; [ -e ${quote(target)} ] || : > ${quote(target)}`
        : `${tools.mkdir} -p ${quote(target)}`,
      `${tools.mount} --bind ${quote(source)} ${quote(target)}`,
    );
    if (readOnly) lines.push(`${tools.mount} -o remount,bind,ro ${quote(target)}`);
  }
  if (workingDir) lines.push(`if [ -d ${quote(workingDir)} ]; then cd ${quote(workingDir)}; fi`);
  lines.push('exec "$@"');
  return lines.join('\n');
}

function writeKeys(
  dir: string,
  data: Record<string, Buffer> | undefined,
  items: V1KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean | undefined,
): void {
  if (!data) return; // optional and missing
  if (!items?.length) {
    for (const [key, value] of Object.entries(data)) writeFile(join(dir, key), value, defaultMode);
    return;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined && optional) continue;
    if (value === undefined) throw new Error(`key "${item.key}" not found`);
    writeFile(join(dir, item.path), value, item.mode ?? defaultMode);
  }
}

function writeFile(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode); // exact mode, whatever the umask
}

// --- Host -----------------------------------------------------------------------------------------------------

interface HostTools {
  setpriv: string;
  unshare: string;
  sh: string;
  mkdir: string;
  mount: string;
}

let tools: HostTools | undefined;

/** Absolute paths of the host tools, checked once: containers need mount namespaces (root, CAP_SYS_ADMIN). */
function hostTools(): HostTools {
  if (tools) return tools;
  const find = (name: string): string => {
    const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
    const found = dirs
      .filter(Boolean)
      .map((dir) => join(dir, name))
      .find((path) => existsSync(path));
    if (!found) throw new Error(`the testbed node agent needs ${name} (util-linux, coreutils)`);
    return found;
  };
  const found = {
    setpriv: find('setpriv'),
    unshare: find('unshare'),
    sh: find('sh'),
    mkdir: find('mkdir'),
    mount: find('mount'),
  };
  const probe = spawnSync(found.unshare, ['--mount', '--propagation', 'private', '--', found.sh, '-c', 'exit 0'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) {
    throw new Error(
      `the testbed node agent needs mount namespaces (run as root): unshare: ${probe.stderr || probe.error}`,
    );
  }
  return (tools = found);
}

/**
 * Creates a missing mount point on the host (a directory, or an empty file for file mounts) and records
 * what it created, so that the last agent to stop can remove it. The record is machine-wide because agents
 * in other processes may use the same paths (say /var/run/secrets/kubernetes.io/serviceaccount).
 */
function ensureMountPoint(path: string, file: boolean): void {
  const missing: string[] = [];
  for (let p = path; !exists(p); p = dirname(p)) missing.unshift(p);
  if (missing.length === 0) return;
  appendFileSync(MOUNT_POINTS_FILE, missing.map((p) => `${p}\n`).join(''));
  mkdirSync(file ? dirname(path) : path, { recursive: true });
  if (file) writeFileSync(path, '', { flag: 'a' });
}

/** Removes the recorded mount points (if empty) unless some agent on this machine still runs. */
function releaseMountPoints(): void {
  if (agentsRunningOnHost() > 0) return;
  let recorded: string[];
  try {
    recorded = readFileSync(MOUNT_POINTS_FILE, 'utf8').split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const path of [...new Set(recorded)].sort((a, b) => b.length - a.length)) {
    try {
      const stat = lstatSync(path);
      if (stat.isDirectory()) rmdirSync(path);
      else if (stat.isFile() && stat.size === 0) unlinkSync(path);
    } catch {
      // gone already, or no longer empty: not ours to remove
    }
  }
  rmSync(MOUNT_POINTS_FILE, { force: true });
}

/** Node agents running on this machine, in any process. */
export function agentsRunningOnHost(): number {
  return agentDirs().filter(({ pid }) => pid !== undefined && alive(pid)).length;
}

/** Removes directories of agents whose process was killed before it could clean up. */
function sweepAbandoned(): void {
  for (const { dir, pid } of agentDirs()) if (pid && !alive(pid)) rmSync(dir, { recursive: true, force: true });
}

function agentDirs(): { dir: string; pid: number | undefined }[] {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(AGENT_DIR_PREFIX));
  } catch {
    return [];
  }
  return entries.map((entry) => {
    const dir = join(tmpdir(), entry);
    try {
      return { dir, pid: Number(readFileSync(join(dir, OWNER_FILE), 'utf8')) || undefined };
    } catch {
      return { dir, pid: undefined }; // being created right now
    }
  });
}

// --- Small helpers ----------------------------------------------------------------------------------------------

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

/** metav1.MicroTime wants exactly six fractional digits. */
const microTime = (): string => new Date().toISOString().replace('Z', '000Z');

/** Expands $(VAR) from variables defined so far, as the kubelet does; $$ escapes. */
function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? match),
  );
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');
}

function mapValues<T>(map: Record<string, string> | undefined, fn: (value: string) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, fn(v)]));
}

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
const uidOf = (pod: V1Pod): string => pod.metadata?.uid ?? '';
const isTerminal = (pod: V1Pod): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const runsArgusImage = (pod: V1Pod): boolean => {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return containers.length > 0 && containers.every((c) => isArgusImage(c.image));
};
const backoffMs = (attempt: number): number => Math.min(500 * 2 ** attempt, 5000);
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
