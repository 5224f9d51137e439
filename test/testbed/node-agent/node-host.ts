// The node itself, as node-level compliance rules see it from a privileged "ops" pod: a node root
// directory that hostPath volumes resolve under (a pod with hostPath `/` at `/host` sees it at /host), and
// a PID namespace of its own whose PID 1 looks like systemd and where host processes such as the kubelet
// run with the command lines a test chooses. Pods with hostPID run in that namespace and mount its /proc,
// so `/proc/<pid>/cmdline` and `pgrep -x kubelet` show this node's processes only, even with several agents
// on one machine. Killing PID 1 kills everything in the namespace; PID 1 gets SIGKILL when the agent's
// process dies (unshare --kill-child under setpriv --pdeathsig), so nothing outlives a killed test.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { waitFor } from '../../../src/util/time.ts';
import type { HostTools } from './host.ts';

/** A process in the node's PID namespace (a dummy: it sleeps until killed, whatever its command line says). */
export interface HostProcess {
  /** Its PID as pods with hostPID see it (in the node's PID namespace). */
  readonly pid: number;
  /** Its PID on the machine. */
  readonly hostPid: number;
  /** Its /proc/<pid>/cmdline, argv[0] included. */
  readonly argv: readonly string[];
  /** Its /proc/<pid>/comm (the file name it runs as). */
  readonly name: string;
  /** Kills it and waits for its exit. */
  stop(): Promise<void>;
}

/** Owner and mode of a file written into the node root. */
export interface NodeFileOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** The node root, the node's PID namespace and the host processes in it. */
export class NodeHost {
  /** The node's `/`: hostPath volumes resolve under it. */
  readonly root: string;
  private readonly binDir: string;
  private readonly tools: HostTools;
  private readonly processes = new Set<ChildProcess>();
  private init: ChildProcess | undefined;
  private initHostPid = 0;

  private constructor(dir: string, tools: HostTools) {
    this.tools = tools;
    this.root = join(dir, 'root');
    this.binDir = join(dir, 'bin');
    mkdirSync(this.root, { recursive: true, mode: 0o755 });
    chmodSync(this.root, 0o755);
    mkdirSync(this.binDir, { recursive: true });
  }

  /** Creates the node root under `dir` and starts the node's PID 1. */
  static async start(dir: string, tools: HostTools): Promise<NodeHost> {
    const host = new NodeHost(dir, tools);
    try {
      const { setpriv, unshare, bash } = tools;
      const init = spawn(
        setpriv,
        [
          '--pdeathsig',
          'KILL',
          '--',
          unshare,
          '--pid',
          '--fork',
          '--kill-child',
          '--',
          bash,
          '-c',
          'exec -a "$0" "$@"',
          '/sbin/init',
          host.dummy('systemd'),
        ],
        { stdio: 'ignore' },
      );
      host.init = init;
      host.processes.add(init);
      init.once('exit', () => host.processes.delete(init));
      host.initHostPid = await host.started(init, 'systemd', 'the node PID namespace');
      return host;
    } catch (err) {
      host.killSync();
      throw err;
    }
  }

  /** The node's PID 1 on the machine: `nsenter -t <it> -p` enters the node's PID namespace. */
  get initPid(): number {
    return this.initHostPid;
  }

  /** The path on the machine of `path` in the node root. */
  path(path: string): string {
    return join(this.root, path);
  }

  /** Writes a file into the node root (parent directories 0755) with the given mode and owner. */
  writeFile(path: string, content: string | Buffer, options: NodeFileOptions = {}): string {
    const file = this.path(path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, content);
    chmodSync(file, options.mode ?? 0o644);
    if (options.uid !== undefined || options.gid !== undefined) chownSync(file, options.uid ?? 0, options.gid ?? 0);
    return file;
  }

  /**
   * Starts a dummy process in the node's PID namespace whose /proc/<pid>/cmdline is exactly `argv` and whose
   * name (comm, what `pgrep -x` matches) is `name` (default: the base name of argv[0]).
   */
  async startProcess(argv: readonly string[], name = basename(argv[0] ?? '')): Promise<HostProcess> {
    const [argv0, ...args] = argv;
    if (!argv0 || !name) throw new Error('a host process needs a command line');
    const { setpriv, nsenter, bash } = this.tools;
    // nsenter forks into the PID namespace; the inner setpriv kills the dummy when nsenter dies.
    const child = spawn(
      setpriv,
      [
        '--pdeathsig',
        'KILL',
        '--',
        nsenter,
        '-t',
        String(this.initHostPid),
        '-p',
        '--',
        setpriv,
        '--pdeathsig',
        'KILL',
        '--',
        bash,
        '-c',
        'exec -a "$0" "$@"',
        argv0,
        this.dummy(name),
        ...args,
      ],
      { stdio: 'ignore' },
    );
    this.processes.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => this.processes.delete(child));
    const hostPid = await this.started(child, name, `host process ${name}`);
    return {
      pid: namespacePid(hostPid),
      hostPid,
      argv: [...argv],
      name: name.slice(0, 15),
      stop: async () => {
        // The dummy first: nsenter, its parent, reaps it and exits (no zombie left in the namespace).
        try {
          process.kill(hostPid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        await exited;
      },
    };
  }

  /** Kills PID 1 and with it every process of the node. */
  async stop(): Promise<void> {
    const running = [...this.processes].map(
      (child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve))),
    );
    this.killSync();
    await Promise.all(running);
  }

  killSync(): void {
    for (const child of this.processes) child.kill('SIGKILL');
  }

  /** Waits until `wrapper` (setpriv + unshare/nsenter) has forked a process that runs the dummy `name`. */
  private async started(wrapper: ChildProcess, name: string, what: string): Promise<number> {
    const wrapperPid = wrapper.pid;
    if (wrapperPid === undefined) throw new Error(`could not start ${what}`);
    const dummy = this.dummy(name);
    return waitFor(
      what,
      () => {
        const [pid] = childPids(wrapperPid);
        return pid !== undefined && exePath(pid) === dummy ? pid : undefined;
      },
      {
        timeoutMs: 10_000,
        intervalMs: 5,
        giveUp: () => (wrapper.exitCode !== null || wrapper.signalCode !== null ? 'it exited' : undefined),
      },
    );
  }

  /** A dummy executable named `name` (the name is what /proc/<pid>/comm shows). */
  private dummy(name: string): string {
    const file = join(this.binDir, name);
    if (!existsSync(file)) writeFileSync(file, pauseExecutable(), { mode: 0o755 });
    return file;
  }
}

/** The PIDs of a process's children (Linux /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The PID of a machine process in its innermost PID namespace (the NSpid line of /proc/<pid>/status). */
export function namespacePid(hostPid: number): number {
  const status = readFileSync(`/proc/${hostPid}/status`, 'utf8');
  const line = /^NSpid:\s*(.+)$/m.exec(status)?.[1];
  const pids = (line ?? String(hostPid)).trim().split(/\s+/);
  return Number(pids[pids.length - 1]);
}

function exePath(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * A static Linux executable of a few bytes that waits for signals forever and ignores its arguments, so that
 * its command line can be anything: `pause()` in a loop (x86-64), `ppoll(NULL, 0, NULL, NULL)` (arm64).
 * Without signal handlers, SIGTERM and SIGKILL end it (and as PID 1 of a namespace only SIGKILL does).
 */
function pauseExecutable(): Buffer {
  const code: Record<string, { machine: number; code: number[] }> = {
    // loop: mov eax, 34 (pause); syscall; jmp loop
    x64: { machine: 0x3e, code: [0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7] },
    // loop: movz x0..x3, #0; movz x8, #73 (ppoll); svc #0; b loop
    arm64: {
      machine: 0xb7,
      code: [0xd2800000, 0xd2800001, 0xd2800002, 0xd2800003, 0xd2800928, 0xd4000001, 0x17fffffa].flatMap((word) => [
        word & 0xff,
        (word >>> 8) & 0xff,
        (word >>> 16) & 0xff,
        (word >>> 24) & 0xff,
      ]),
    },
  };
  const arch = code[process.arch];
  if (!arch) throw new Error(`the testbed node agent has no dummy executable for ${process.arch}`);
  const base = 0x400000n;
  const headerSize = 64 + 56;
  const size = headerSize + arch.code.length;
  const elf = Buffer.alloc(size);
  // ELF header: 64-bit, little endian, executable.
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  elf.writeUInt16LE(2, 16); // e_type EXEC
  elf.writeUInt16LE(arch.machine, 18);
  elf.writeUInt32LE(1, 20); // e_version
  elf.writeBigUInt64LE(base + BigInt(headerSize), 24); // e_entry
  elf.writeBigUInt64LE(64n, 32); // e_phoff
  elf.writeUInt16LE(64, 52); // e_ehsize
  elf.writeUInt16LE(56, 54); // e_phentsize
  elf.writeUInt16LE(1, 56); // e_phnum
  // One program header: load the whole file read+execute at `base`.
  elf.writeUInt32LE(1, 64); // PT_LOAD
  elf.writeUInt32LE(5, 68); // PF_R | PF_X
  elf.writeBigUInt64LE(0n, 72); // p_offset
  elf.writeBigUInt64LE(base, 80); // p_vaddr
  elf.writeBigUInt64LE(base, 88); // p_paddr
  elf.writeBigUInt64LE(BigInt(size), 96); // p_filesz
  elf.writeBigUInt64LE(BigInt(size), 104); // p_memsz
  elf.writeBigUInt64LE(0x1000n, 112); // p_align
  elf.set(arch.code, headerSize);
  return elf;
}
