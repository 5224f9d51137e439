// A node agent for the testbed: scheduler and kubelet in one, for pods whose containers all use the Argus
// image, so that Jobs created by Argus controllers really run. Such pods are bound to the agent's Node and
// their containers run as local processes (`argus` is this repository's CLI), each in its own mount
// namespace where the pod's volumes appear at their mountPaths (bind mounts, util-linux unshare). The Node
// is kept alive with a Lease and Ready heartbeats, so kube-controller-manager treats it like any other.
// Pods with other images are left alone and stay Pending.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { V1Node, V1NodeCondition, V1Pod } from '@kubernetes/client-node';
import { isConflict, isNotFound, type KubeClient } from '../../../src/kube/client.ts';
import { Resources, type KubeList, type KubeObject } from '../../../src/kube/resources.ts';
import { errorMessage, logger, type Logger } from '../../../src/util/log.ts';
import { microTime, sleep } from '../../../src/util/time.ts';
import type { ControlPlane } from '../controlplane.ts';
import { AGENT_DIR_PREFIX, hostTools, OWNER_FILE, releaseMountPoints, sweepAbandoned, type HostTools } from './host.ts';
import { PodWorker, type PodProcess, type WorkerContext } from './pod-runner.ts';
import { backoffMs, isTerminal, POD_IP, uidOf } from './util.ts';

export { agentsRunningOnHost } from './host.ts';
export type { PodProcess } from './pod-runner.ts';

export interface NodeAgentOptions {
  /** The Node name (default node-1, node-2, ... per process). */
  name?: string;
  /** Extra Node labels. */
  labels?: Record<string, string>;
  /** Overrides of the Node's capacity and allocatable (cpu, memory, pods). */
  capacity?: Record<string, string>;
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
