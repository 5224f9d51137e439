// Running one pod on the node: its volumes, then its init containers in order, then its containers
// concurrently, each a local process in its own mount namespace, restarted as restartPolicy says; the
// activeDeadlineSeconds timer; termination (SIGTERM, then SIGKILL after the grace period) when the pod is
// deleted or the agent stops; and status updates at every step. Containers of hostPID pods run in the node's
// PID namespace (node-host.ts) with its /proc mounted; exec (kubelet-api.ts) enters a running container.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { errorMessage, type Logger } from '../../../src/util/log.ts';
import { sleep } from '../../../src/util/time.ts';
import { commandLine, environment, mountScript, terminationMessage } from './container.ts';
import { ensureMountPoint, type HostTools } from './host.ts';
import type { ExecTarget } from './kubelet-api.ts';
import { childPids } from './node-host.ts';
import { podStatus, StatusWriter, type ContainerRun, type Phase } from './pod-status.ts';
import { backoffMs } from './util.ts';
import { containerMounts, prepareVolumes } from './volumes.ts';

/** What a pod worker gets from its agent. */
export interface WorkerContext {
  nodeName: string;
  log: Logger;
  tools: HostTools;
  /** Aborted when the agent stops: ends waits and requests, and status updates stop. */
  signal: AbortSignal;
  /** The node's `/`: hostPath volumes resolve under it. */
  nodeRoot: string;
  /** PID 1 of the node's PID namespace, on the machine (hostPID pods join that namespace). */
  nodeInitPid: number;
  apiServerPort(): number;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** The pod as last seen (the agent updates it) and the agent's context: what the helper modules read. */
export interface PodSource {
  readonly pod: V1Pod;
  readonly ctx: WorkerContext;
  /** namespace/name, for logs. */
  readonly key: string;
}

/** A container process of a pod, as the host sees it. */
export interface PodProcess {
  namespace: string;
  pod: string;
  container: string;
  pid: number;
}

/** A container process as started: for hostPID pods `wrapper` is nsenter, whose child is the container. */
interface Running {
  run: ContainerRun;
  env: Record<string, string>;
  /** Non-empty once the container's mounts are set up and its command is exec'd. */
  readyFile: string;
  hostPID: boolean;
}

/** Runs one pod: volumes, init containers in order, then containers concurrently, and reports its status. */
export class PodWorker implements PodSource {
  pod: V1Pod;
  readonly dir: string;
  /** Settles when every process has exited and the final status was written (or the agent stopped). */
  readonly finished: Promise<void>;
  /** The agent handles the pod's deletion. */
  deleting = false;
  readonly ctx: WorkerContext;
  private readonly inits: ContainerRun[];
  private readonly containers: ContainerRun[];
  private readonly running = new Map<ChildProcess, Running>();
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
  private readonly status = new StatusWriter(this, () =>
    podStatus({
      inits: this.inits,
      containers: this.containers,
      startTime: this.startTime,
      volumesReady: this.volumesReady,
      initialized: this.initialized,
      deadlineExceeded: this.deadlineExceeded,
      finalPhase: this.finalPhase,
    }),
  );

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
      this.ctx.log.error({ err: errorMessage(err), pod: this.key }, 'pod worker failed'),
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
    return [...this.running].flatMap(([child, r]) => {
      const pid = containerPid(child, r);
      return pid ? [{ namespace, pod: name, container: r.run.spec.name, pid }] : [];
    });
  }

  /** The running container `name` for exec, or why there is none. */
  execTarget(name: string): ExecTarget | string {
    const spec = [...this.inits, ...this.containers].find((c) => c.spec.name === name);
    if (!spec) return `container ${name} not found in pod ${this.key}`;
    const entry = [...this.running].find(([, r]) => r.run.spec.name === name);
    const pid = entry && containerPid(entry[0], entry[1]);
    if (!entry || !pid) return `container ${name} of pod ${this.key} is not running`;
    const [, r] = entry;
    return {
      pid,
      pidNamespace: r.hostPID,
      env: r.env,
      ready: () => existsSync(r.readyFile) && statSync(r.readyFile).size > 0,
    };
  }

  /** Stops the pod: SIGTERM now and SIGKILL after `graceMs` (at once when 0). Containers are not restarted. */
  terminate(graceMs: number): void {
    this.stopping = true;
    this.wake.abort();
    if (this.finalPhase !== undefined) return;
    const signal = graceMs > 0 ? 'SIGTERM' : 'SIGKILL';
    if (this.sentSignal === 'SIGKILL' || this.sentSignal === signal) return;
    this.sentSignal = signal;
    for (const [child, r] of this.running) signalContainer(child, r, signal);
    if (signal === 'SIGTERM') this.killTimer = setTimeout(() => this.terminate(0), graceMs).unref();
  }

  killSync(): void {
    this.stopping = true;
    for (const [child, r] of this.running) signalContainer(child, r, 'SIGKILL');
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
        () => prepareVolumes(this, this.dir, this.volumes),
        (err) => {
          for (const c of [...this.inits, ...this.containers]) {
            c.state = { waiting: { reason: 'ContainerCreating', message: `volumes: ${errorMessage(err)}` } };
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
        (err) => (c.state = { waiting: { reason: 'CreateContainerConfigError', message: errorMessage(err) } }),
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
    const env = await environment(this, c.spec);
    const dir = join(this.dir, 'containers', c.spec.name);
    mkdirSync(dir, { recursive: true });
    const logFile = join(dir, `${c.restartCount}.log`);
    const messageFile = join(dir, `${c.restartCount}.termination-log`);
    const readyFile = join(dir, `${c.restartCount}.started`);
    writeFileSync(messageFile, '');
    writeFileSync(readyFile, '');
    const mounts = containerMounts(this.volumes, c.spec, env, messageFile);
    for (const mount of mounts) ensureMountPoint(mount.target, mount.file);
    const argv = commandLine(c.spec, env);
    if (this.stopping) return undefined;

    const { setpriv, unshare, sh, nsenter } = this.ctx.tools;
    const hostPID = this.pod.spec?.hostPID === true;
    const script = mountScript(this.ctx.tools, mounts, c.spec.workingDir, { readyFile, mountProc: hostPID });
    const fd = openSync(logFile, 'a');
    // hostPID: into the node's PID namespace. nsenter forks there and stays outside as the parent; the inner
    // setpriv kills the container when nsenter dies, and signals go to the container itself.
    const pidNamespace = hostPID
      ? [nsenter, '-t', String(this.ctx.nodeInitPid), '-p', '--', setpriv, '--pdeathsig', 'KILL', '--']
      : [];
    // PDEATHSIG: the kernel kills the container when the agent's process dies, however it dies.
    const child = spawn(
      setpriv,
      [
        '--pdeathsig',
        'KILL',
        '--',
        ...pidNamespace,
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
    const running: Running = { run: c, env, readyFile, hostPID };
    this.running.set(child, running);
    if (this.sentSignal) signalContainer(child, running, this.sentSignal);
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
        this.ctx.log.warn({ err: errorMessage(err), pod: this.key }, 'pod not ready to run; retrying');
        onError(err);
        void this.syncStatus();
        await sleep(backoffMs(attempt), this.wake.signal);
      }
    }
  }

  /** Queues a status update; updates coalesce, and the last one reflects the latest state. */
  private syncStatus(): Promise<void> {
    return this.status.sync();
  }
}

/** The container's own process on the machine (the child of nsenter for hostPID pods). */
function containerPid(wrapper: ChildProcess, r: Running): number | undefined {
  if (!r.hostPID) return wrapper.pid;
  return wrapper.pid === undefined ? undefined : childPids(wrapper.pid)[0];
}

/** Signals the container; before a hostPID container exists, its nsenter (then the container dies with it). */
function signalContainer(wrapper: ChildProcess, r: Running, signal: NodeJS.Signals): void {
  const pid = containerPid(wrapper, r);
  if (pid === undefined || pid === wrapper.pid) {
    wrapper.kill(signal);
    return;
  }
  try {
    process.kill(pid, signal);
  } catch {
    wrapper.kill(signal);
  }
}
