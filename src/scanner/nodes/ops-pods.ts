// Privileged "ops" pods through which rules look at a node's files and processes, driven with pods/exec.
// One pod per node and scan, created when a rule first needs the node and shared by every rule after it;
// all are deleted when the scan ends (also when it fails or is aborted), and `activeDeadlineSeconds` ends a
// pod the scanner could not delete. The pod is bound to its node directly (spec.nodeName: no scheduler, no
// dependency on the hostname label), tolerates every taint, shares the node's PID and network namespaces and
// sees the node's `/` at /host; commands run in its own image (a POSIX shell and coreutils or busybox) and
// read node files under /host, so the node needs no shell of its own.
//
// Exec retries: an exec that fails for a reason that may pass (the pod vanished or ended, the API server or
// kubelet answered 5xx or 429, the stream broke or timed out) is tried again, up to `maxRetries` more times
// (the ruleset arg, default 1); a vanished or ended pod is replaced by a new one first.
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, isNotFound, type KubeClient } from '../../kube/client.ts';
import { exec, type ExecResult } from '../../kube/exec.ts';
import { errorMessage, logger } from '../../util/log.ts';
import { sleep } from '../../util/time.ts';
import { Kinds } from '../objects/kinds.ts';
import { OPS_POD_ROLE, OPS_POD_ROLE_LABEL } from '../rulesets/shared/pods.ts';
import { Limiter } from './limit.ts';

const log = logger('scanner', { component: 'ops-pods' });

export const DEFAULT_OPS_POD_IMAGE = 'argus';
export const DEFAULT_OPS_POD_NAMESPACE = 'kube-system';
export const OPS_POD_CONTAINER = 'container';
/** How long an ops pod may live (its activeDeadlineSeconds and the sleep it runs). */
export const OPS_POD_LIFETIME_SECONDS = 300;
/** Groups the ops pods of one scan, as diki's label of the same name. */
export const OPS_POD_INSTANCE_LABEL = 'compliance.gardener.cloud/instanceID';

export interface OpsPodSettings {
  image: string;
  namespace: string;
  /** Extra labels (the provider arg `additionalOpsPodLabels`); the role label always wins. */
  labels: Record<string, string>;
}

/** The ops pod settings from the managedk8s provider args `opsPodImage`, `opsPodNamespace`, `additionalOpsPodLabels`. */
export function opsPodSettings(providerArgs: Record<string, unknown> = {}): OpsPodSettings {
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
  const labels = providerArgs.additionalOpsPodLabels;
  return {
    image: text(providerArgs.opsPodImage) ?? DEFAULT_OPS_POD_IMAGE,
    namespace: text(providerArgs.opsPodNamespace) ?? DEFAULT_OPS_POD_NAMESPACE,
    labels: typeof labels === 'object' && labels !== null ? { ...(labels as Record<string, string>) } : {},
  };
}

/** A pod name for an ops pod on `node`: at most 63 characters, unique by a random suffix. */
export function opsPodName(node: string): string {
  const slug = node
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return `argus-ops-${slug ? `${slug}-` : ''}${randomBytes(3).toString('hex')}`;
}

export function opsPodManifest(name: string, node: string, settings: OpsPodSettings, instance: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: settings.namespace,
      labels: { ...settings.labels, [OPS_POD_INSTANCE_LABEL]: instance, [OPS_POD_ROLE_LABEL]: OPS_POD_ROLE },
    },
    spec: {
      nodeName: node,
      hostPID: true,
      hostNetwork: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: OPS_POD_LIFETIME_SECONDS,
      terminationGracePeriodSeconds: 5,
      automountServiceAccountToken: false,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: OPS_POD_CONTAINER,
          image: settings.image,
          args: ['debug', 'sleep', String(OPS_POD_LIFETIME_SECONDS)],
          securityContext: { privileged: true },
          volumeMounts: [{ name: 'host-root-volume', mountPath: '/host' }],
        },
      ],
      volumes: [{ name: 'host-root-volume', hostPath: { path: '/' } }],
    },
  };
}

/** How the scan wants a command run: its abort signal and how often a transient failure is retried. */
export interface ExecPolicy {
  signal: AbortSignal;
  maxRetries: number;
  /** Time for one attempt (default 30 s). */
  timeoutMs?: number;
}

/** What to do after an exec failed: give up, try again, or try again in a new pod. */
export function execFailure(err: unknown): 'fatal' | 'retry' | 'replace-pod' {
  if (err instanceof PodStartError) return 'fatal';
  if (err instanceof ApiError) {
    if (err.code === 404) return 'replace-pod';
    // The pod ended (its deadline passed) or its container is gone.
    if (err.code === 400 && /completed pod|not running|not found|terminated/i.test(err.message)) return 'replace-pod';
    if (err.code === 429 || err.code >= 500) return 'retry';
    return 'fatal';
  }
  // Transport: a broken or timed-out stream, a refused connection.
  return 'retry';
}

/**
 * The error without the exec URL's query that API-server messages repeat (the whole command, URL-encoded), so
 * that reports stay readable; the HTTP code and reason stay.
 */
export function tidyExecError(err: unknown): Error {
  const message = errorMessage(err).replace(/(\/exec\/[^?\s"]*)\?[^\s"]*/g, '$1');
  if (message === errorMessage(err) && err instanceof Error) return err;
  return new Error(message, { cause: err });
}

/** The pod could not be started on its node (image, admission, deadline); retrying in this scan won't help. */
export class PodStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodStartError';
  }
}

export interface OpsPodsOptions {
  /** Time for a pod to reach Running (default 60 s, as diki). */
  startTimeoutMs?: number;
  /** Pods created at once (default 10). */
  concurrency?: number;
  /** Exec sessions at once across nodes (default 20). */
  execConcurrency?: number;
  /** Time to wait for the pods to be gone after deleting them at the end (default 30 s). */
  deleteTimeoutMs?: number;
}

const BAD_WAITING_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** The ops pods of one scan: at most one live pod per node, created on first use, deleted by dispose(). */
export class OpsPods {
  readonly settings: OpsPodSettings;
  /** Labels every pod of this scan carries (`compliance.gardener.cloud/instanceID`). */
  readonly instance = randomBytes(8).toString('hex');
  readonly #client: KubeClient;
  readonly #startTimeoutMs: number;
  readonly #deleteTimeoutMs: number;
  readonly #create: Limiter;
  readonly #exec: Limiter;
  /** The current pod of each node (its name), or why it could not be started. */
  readonly #pods = new Map<string, Promise<string>>();
  /** Every pod created and not yet deleted. */
  readonly #created = new Set<string>();
  readonly #starting = new Set<Promise<unknown>>();
  #disposed = false;

  constructor(client: KubeClient, settings: OpsPodSettings, options: OpsPodsOptions = {}) {
    this.#client = client;
    this.settings = settings;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#deleteTimeoutMs = options.deleteTimeoutMs ?? 30_000;
    this.#create = new Limiter(options.concurrency ?? 10);
    this.#exec = new Limiter(options.execConcurrency ?? 20);
  }

  /** Names of the pods created and not deleted yet. */
  get live(): string[] {
    return [...this.#created];
  }

  /** The name of the node's running ops pod, started on first use; a pod that failed to start is retried. */
  pod(node: string, policy: ExecPolicy): Promise<string> {
    let pod = this.#pods.get(node);
    if (!pod) {
      pod = this.#start(node, policy);
      pod.catch(() => undefined);
      this.#pods.set(node, pod);
      this.#starting.add(pod);
      void pod.finally(() => this.#starting.delete(pod!)).catch(() => undefined);
    }
    return pod;
  }

  /** Runs `command` (argv, no shell unless it is `sh -c`) in the node's ops pod, retrying transient failures. */
  async exec(node: string, command: string[], policy: ExecPolicy): Promise<ExecResult> {
    for (let attempt = 0; ; attempt++) {
      const name = await this.pod(node, policy);
      try {
        return await this.#exec.run(() =>
          exec(this.#client, {
            namespace: this.settings.namespace,
            pod: name,
            container: OPS_POD_CONTAINER,
            command,
            signal: policy.signal,
            timeoutMs: policy.timeoutMs ?? 30_000,
          }),
        );
      } catch (err) {
        policy.signal.throwIfAborted();
        const failure = execFailure(err);
        if (failure === 'fatal' || attempt >= policy.maxRetries) throw tidyExecError(err);
        log.info({ node, pod: name, attempt, err: tidyExecError(err).message }, 'exec failed; retrying');
        if (failure === 'replace-pod') this.#forget(node, name);
        await sleep(250 * 2 ** attempt, policy.signal);
      }
    }
  }

  /** Deletes every pod this scan created and waits (bounded) until they are gone. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.allSettled([...this.#starting]);
    await Promise.all([...this.#created].map((name) => this.#delete(name, true)));
  }

  async #start(node: string, policy: ExecPolicy): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#create.run(() => this.#startOnce(node, policy.signal));
      } catch (err) {
        policy.signal.throwIfAborted();
        // Refusals (forbidden, invalid, quota) stay refusals; 5xx, 429 and transport errors may pass.
        const refused = err instanceof ApiError && err.code < 500 && err.code !== 429;
        if (attempt >= policy.maxRetries || err instanceof PodStartError || refused) throw err;
        log.info({ node, attempt, err: errorMessage(err) }, 'could not start an ops pod; retrying');
        await sleep(500 * 2 ** attempt, policy.signal);
      }
    }
  }

  async #startOnce(node: string, signal: AbortSignal): Promise<string> {
    if (this.#disposed) throw new Error('the scan has ended');
    const name = opsPodName(node);
    const { namespace } = this.settings;
    await this.#client.create<V1Pod>(Kinds.pods, opsPodManifest(name, node, this.settings, this.instance));
    this.#created.add(name);
    log.debug({ node, pod: `${namespace}/${name}` }, 'ops pod created');
    try {
      await this.#waitRunning(name, signal);
      return name;
    } catch (err) {
      void this.#delete(name, false);
      throw err;
    }
  }

  async #waitRunning(name: string, signal: AbortSignal): Promise<void> {
    const { namespace } = this.settings;
    const deadline = Date.now() + this.#startTimeoutMs;
    let interval = 100;
    for (;;) {
      signal.throwIfAborted();
      if (this.#disposed) throw new Error('the scan has ended');
      const pod = await this.#client.get<V1Pod>(Kinds.pods, name, namespace);
      const phase = pod.status?.phase ?? 'Pending';
      if (phase === 'Running') return;
      const waiting = pod.status?.containerStatuses?.find((s) => s.name === OPS_POD_CONTAINER)?.state?.waiting;
      if (phase === 'Failed' || phase === 'Succeeded')
        throw new PodStartError(
          `ops pod ${namespace}/${name} ended (${phase}${pod.status?.reason ? `: ${pod.status.reason}` : ''}` +
            `${pod.status?.message ? `, ${pod.status.message}` : ''}) before it could be used`,
        );
      if (waiting?.reason && BAD_WAITING_REASONS.has(waiting.reason))
        throw new PodStartError(
          `ops pod ${namespace}/${name} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
        );
      const last = waiting?.reason ?? phase;
      if (Date.now() + interval > deadline)
        throw new Error(
          `ops pod ${namespace}/${name} did not reach Running within ${this.#startTimeoutMs / 1000} s (last: ${last})`,
        );
      await sleep(interval, signal);
      interval = Math.min(interval * 2, 1000);
    }
  }

  /** The node's pod is gone or ended: the next exec starts a new one. */
  #forget(node: string, name: string): void {
    void this.#pods
      .get(node)
      ?.then((current) => {
        if (current !== name) return;
        this.#pods.delete(node);
        void this.#delete(name, false);
      })
      .catch(() => undefined);
  }

  async #delete(name: string, wait: boolean): Promise<void> {
    const { namespace } = this.settings;
    try {
      await this.#client.delete(Kinds.pods, name, namespace);
    } catch (err) {
      if (!isNotFound(err)) {
        log.warn({ pod: `${namespace}/${name}`, err: errorMessage(err) }, 'could not delete an ops pod');
        return;
      }
    }
    this.#created.delete(name);
    if (!wait) return;
    const deadline = Date.now() + this.#deleteTimeoutMs;
    while (Date.now() < deadline) {
      if (!(await this.#client.getOrUndefined(Kinds.pods, name, namespace).catch(() => true))) return;
      await sleep(200);
    }
    log.warn({ pod: `${namespace}/${name}` }, 'an ops pod was deleted but is still there');
  }
}
