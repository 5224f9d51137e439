// A running pod's status as the kubelet reports it: phase, conditions and container statuses built from
// the pod runner's state, and written to pods/status by read-modify-write (keeping what others own, such as
// other conditions and qosClass), with updates coalesced so that the last write reflects the latest state.
import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../../../src/kube/client.ts';
import { errorMessage } from '../../../src/util/log.ts';
import { sleep } from '../../../src/util/time.ts';
import type { PodSource } from './pod-runner.ts';
import { backoffMs, isTerminal, POD_IP } from './util.ts';

/** One container of a pod (init or not) across its runs. */
export interface ContainerRun {
  spec: V1Container;
  init: boolean;
  restartCount: number;
  state: V1ContainerState;
  lastState: V1ContainerState;
  containerID?: string;
  logFile?: string;
}

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** What the pod status is built from. */
export interface PodRunState {
  inits: ContainerRun[];
  containers: ContainerRun[];
  startTime: Date;
  volumesReady: boolean;
  initialized: boolean;
  deadlineExceeded: boolean;
  finalPhase: Phase | undefined;
}

/** Writes a pod's status; `status` is called for each write, so every write carries the latest state. */
export class StatusWriter {
  private readonly src: PodSource;
  private readonly status: () => V1PodStatus;
  private chain: Promise<void> = Promise.resolve();
  private version = 0;
  private written = 0;

  constructor(src: PodSource, status: () => V1PodStatus) {
    this.src = src;
    this.status = status;
  }

  /** Queues a status update; updates coalesce, and the last one reflects the latest state. */
  sync(): Promise<void> {
    const version = ++this.version;
    this.chain = this.chain
      .then(() => (this.written < version ? this.write() : undefined))
      .catch((err: unknown) =>
        this.src.ctx.log.error({ err: errorMessage(err), pod: this.src.key }, 'pod status update failed'),
      );
    return this.chain;
  }

  /** Read-modify-write of pods/status: keeps what others own (other conditions, qosClass), retries conflicts. */
  private async write(): Promise<void> {
    const { ctx } = this.src;
    const { namespace, name, uid } = this.src.pod.metadata ?? {};
    const path = `/api/v1/namespaces/${namespace}/pods/${name}`;
    for (let attempt = 0; !ctx.signal.aborted; attempt++) {
      this.written = this.version;
      const status = this.status();
      try {
        const current = await ctx.api<V1Pod>('GET', path);
        if (current.metadata?.uid !== uid || isTerminal(current)) return;
        const old = current.status ?? {};
        current.status = { ...old, ...status, conditions: mergeConditions(old.conditions, status.conditions) };
        await ctx.api('PUT', `${path}/status`, current);
        return;
      } catch (err) {
        if (isNotFound(err) || ctx.signal.aborted) return;
        if (isConflict(err)) continue;
        ctx.log.warn({ err: errorMessage(err), pod: this.src.key }, 'pod status update failed; retrying');
        await sleep(backoffMs(attempt), ctx.signal);
      }
    }
  }
}

export function podStatus(s: PodRunState): V1PodStatus {
  const mains = s.containers;
  const started = mains.some((c) => c.state.running || c.state.terminated || c.restartCount > 0);
  const phase: Phase = s.finalPhase ?? (s.initialized && started ? 'Running' : 'Pending');
  const done = s.finalPhase !== undefined;
  const unready = mains.filter((c) => !c.state.running).map((c) => c.spec.name);
  const uninitialized = s.inits.filter((c) => c.state.terminated?.exitCode !== 0).map((c) => c.spec.name);
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
    ...(s.deadlineExceeded && done
      ? { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }
      : {}),
    hostIP: POD_IP,
    hostIPs: [{ ip: POD_IP }],
    podIP: POD_IP,
    podIPs: [{ ip: POD_IP }],
    startTime: s.startTime,
    conditions: [
      condition('PodReadyToStartContainers', s.volumesReady && !done),
      condition(
        'Initialized',
        s.initialized || uninitialized.length === 0,
        'ContainersNotInitialized',
        `containers with incomplete status: [${uninitialized.join(' ')}]`,
      ),
      condition('Ready', ready, done ? 'PodCompleted' : 'ContainersNotReady', readyMessage),
      condition('ContainersReady', ready, done ? 'PodCompleted' : 'ContainersNotReady', readyMessage),
      condition('PodScheduled', true),
    ],
    ...(s.inits.length ? { initContainerStatuses: s.inits.map(containerStatus) } : {}),
    containerStatuses: mains.map(containerStatus),
  };
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
