// The host side of the node agent: the util-linux and coreutils tools that containers run through (checked
// once, since containers need mount namespaces), the mount points created on the host for volume mounts
// (recorded machine-wide, because agents in other processes may share paths, and removed by the last agent
// to stop), and the per-agent temp directories, swept when their owning process died without cleaning up.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { alive } from '../process.ts';

export const AGENT_DIR_PREFIX = 'argus-node-';

/**
 * Where agents keep their pods' files. Not under /tmp: pods often mount an emptyDir at /tmp (with a read-only
 * root file system), which inside their mount namespace would hide the sources of their other volumes.
 */
export function agentRoot(): string {
  const root = process.getuid?.() === 0 ? '/run/argus-testbed' : tmpdir();
  mkdirSync(root, { recursive: true });
  return root;
}
export const OWNER_FILE = 'owner.pid';
// Directories and files created on the host as mount points, shared by every agent on the machine.
const MOUNT_POINTS_FILE = join(tmpdir(), 'argus-mount-points.list');

export interface HostTools {
  setpriv: string;
  unshare: string;
  sh: string;
  mkdir: string;
  mount: string;
  nsenter: string;
  bash: string;
}

let tools: HostTools | undefined;

/** Absolute paths of the host tools, checked once: containers need mount namespaces (root, CAP_SYS_ADMIN). */
export function hostTools(): HostTools {
  if (tools) return tools;
  const find = (name: string): string => {
    const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
    const found = dirs
      .filter(Boolean)
      .map((dir) => join(dir, name))
      .find((path) => existsSync(path));
    if (!found) throw new Error(`the testbed node agent needs ${name} (util-linux, coreutils, bash)`);
    return found;
  };
  const found = {
    setpriv: find('setpriv'),
    unshare: find('unshare'),
    sh: find('sh'),
    mkdir: find('mkdir'),
    mount: find('mount'),
    nsenter: find('nsenter'),
    bash: find('bash'),
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
export function ensureMountPoint(path: string, file: boolean): void {
  const missing: string[] = [];
  for (let p = path; !exists(p); p = dirname(p)) missing.unshift(p);
  if (missing.length === 0) return;
  appendFileSync(MOUNT_POINTS_FILE, missing.map((p) => `${p}\n`).join(''));
  mkdirSync(file ? dirname(path) : path, { recursive: true });
  if (file) writeFileSync(path, '', { flag: 'a' });
}

/** Removes the recorded mount points (if empty) unless some agent on this machine still runs. */
export function releaseMountPoints(): void {
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
export function sweepAbandoned(): void {
  for (const { dir, pid } of agentDirs()) if (pid && !alive(pid)) rmSync(dir, { recursive: true, force: true });
}

function agentDirs(): { dir: string; pid: number | undefined }[] {
  let entries: string[];
  try {
    entries = readdirSync(agentRoot()).filter((e) => e.startsWith(AGENT_DIR_PREFIX));
  } catch {
    return [];
  }
  return entries.map((entry) => {
    const dir = join(agentRoot(), entry);
    try {
      return { dir, pid: Number(readFileSync(join(dir, OWNER_FILE), 'utf8')) || undefined };
    } catch {
      return { dir, pid: undefined }; // being created right now
    }
  });
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
