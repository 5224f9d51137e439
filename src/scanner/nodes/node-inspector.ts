// What rules learn about one node through its ops pod: the kubelet's command line and configuration file,
// owners and modes of files, listening sockets, processes, systemd unit files, the kubectl installed. Each
// answer is read once per scan and shared by the rules that ask (a scan is a snapshot of the node).
//
// Commands are small POSIX sh scripts run in the ops pod's own image, reading the node under /host; nothing
// runs in the node's root (which need not have a shell), except the node's kubectl for 242396. Paths the
// node names (in flags and configuration) are resolved under /host component by component, so that
// absolute symbolic links on the node (kubelet-client-current.pem -> /var/lib/kubelet/pki/...) point into
// the node's tree and not into the ops pod's. Processes come from /proc (the pod shares the node's PID
// namespace), not from systemd, which a node need not run.
import { parse as parseYaml } from 'yaml';
import type { ExecResult } from '../../kube/exec.ts';
import type { ExecPolicy, OpsPods } from './ops-pods.ts';
import { flagValues, listeningTcpPorts, type FileStat } from './parse.ts';

/** Where the ops pod sees the node's `/`. */
export const HOST_ROOT = '/host';

const TAB = '\t';
/** `stat -c` format: permissions, owner user and group IDs, file type. */
const STAT_FORMAT = ['%a', '%u', '%g', '%F'].join(TAB);

/** The exit code of the kubectl script when the node has no kubectl. */
export const NO_KUBECTL = 200;

/** The sh scripts the inspector runs, for a node root at `root` (/host in the ops pod; a temp dir in tests). */
export function hostScripts(
  root: string = HOST_ROOT,
): Record<'stat' | 'files' | 'read' | 'sshUnits' | 'kubectl', string> {
  if (!/^\/[\w./-]*$/.test(root)) throw new Error(`unusable node root ${root}`);
  // resolve PATH: sets $out to the node path PATH under the root, every symbolic link followed there.
  const resolve = `
R='${root}'
resolve() {
  out=$R; rest=$1; n=0
  while [ -n "$rest" ]; do
    case $rest in /*) rest=\${rest#/}; continue ;; esac
    c=\${rest%%/*}
    case $rest in */*) rest=\${rest#*/} ;; *) rest= ;; esac
    case $c in
      ''|.) continue ;;
      ..) out=\${out%/*}; case $out in "$R"/*) ;; *) out=$R ;; esac; continue ;;
    esac
    if [ -L "$out/$c" ] && [ "$n" -lt 40 ]; then
      n=$((n + 1)); t=$(readlink "$out/$c")
      case $t in /*) out=$R ;; esac
      rest=$t\${rest:+/$rest}
    else
      out=$out/$c
    fi
  done
}
`;
  return {
    // For each node path argument: the path and its stat fields, or the path and `-` when it does not exist.
    stat: `${resolve}
fmt=$1; shift
for p in "$@"; do
  resolve "$p"
  if s=$(stat -L -c "$fmt" "$out" 2>/dev/null); then printf '%s\\t%s\\n' "$p" "$s"; else printf '%s\\t-\\n' "$p"; fi
done`,
    // The regular files under a node directory (or the file itself): `root<TAB>resolved`, then a stat line each.
    files: `${resolve}
fmt=$1; resolve "$2"
if [ -d "$out" ]; then
  printf 'root\\t%s\\n' "$out"
  find "$out" -type f -exec stat -L -c "$fmt" {} \\;
elif [ -e "$out" ]; then
  printf 'root\\t%s\\n' "$out"
  stat -L -c "$fmt" "$out"
else
  echo missing
fi`,
    // The content of a node file; exit 3 when it does not exist.
    read: `${resolve}
resolve "$1"
[ -e "$out" ] || exit 3
cat "$out"`,
    // systemd unit files of the SSH daemon: `path<TAB>link target` (empty for a regular file).
    sshUnits: `
R='${root}'
dirs="$R/etc/systemd/system $R/run/systemd/system $R/usr/lib/systemd/system"
[ -L "$R/lib" ] || dirs="$dirs $R/lib/systemd/system"
for d in $dirs; do
  for f in "$d"/* "$d"/*/*; do
    case \${f##*/} in
      ssh.service|sshd.service|ssh.socket|sshd.socket|ssh@.service|sshd@.service)
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\\t%s\\n' "\${f#"$R"}" "$(readlink "$f" 2>/dev/null)"; fi ;;
    esac
  done
done
exit 0`,
    // The node's kubectl on the usual PATH: its node path on the first line, then its client version as JSON.
    kubectl: `${resolve}
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin /opt/bin; do
  resolve "$d/kubectl"
  if [ -f "$out" ] && [ -x "$out" ]; then
    echo "$d/kubectl"
    exec "$out" version --client --output=json
  fi
done
exit ${NO_KUBECTL}`,
  };
}

/** PIDs of the node's processes whose name (/proc/<pid>/comm) is $1 (the pod shares the node's /proc). */
const PROCESSES_SCRIPT = `
for d in /proc/[0-9]*; do
  { read -r c < "$d/comm"; } 2>/dev/null || continue
  [ "$c" = "$1" ] && echo "\${d#/proc/}"
done
exit 0`;

const SCRIPTS = hostScripts();

export interface KubeletProcess {
  pid: number;
  /** Its command line, from /proc/<pid>/cmdline. */
  argv: string[];
}

/** The kubelet's configuration file (`--config`) as read from the node. */
export interface KubeletConfigFile {
  path: string;
  config: Record<string, unknown>;
}

export interface SshUnit {
  /** Path on the node. */
  path: string;
  /** Where the unit file links to ('' for a regular file). */
  target: string;
}

export type KubectlProbe = { found: false } | { found: true; path: string; result: ExecResult };

/** The node path `path` as the ops pod reaches it (no link resolution). */
export const underHost = (path: string): string => `${HOST_ROOT}${path.startsWith('/') ? '' : '/'}${path}`;

export class NodeInspector {
  readonly node: string;
  readonly #pods: OpsPods;
  readonly #answers = new Map<string, Promise<unknown>>();

  constructor(node: string, pods: OpsPods) {
    this.node = node;
    this.#pods = pods;
  }

  /** Runs a command in the node's ops pod (retrying transient failures). */
  exec(command: string[], policy: ExecPolicy): Promise<ExecResult> {
    return this.#pods.exec(this.node, command, policy);
  }

  /** The running kubelet (the oldest process named `kubelet`) and its command line. */
  kubelet(policy: ExecPolicy): Promise<KubeletProcess> {
    return this.#once('kubelet', async () => {
      const pids = await this.processes('kubelet', policy);
      const pid = pids[0];
      if (pid === undefined) throw new Error('No kubelet process runs on the node.');
      const cmdline = await this.#run(['cat', `/proc/${pid}/cmdline`], policy, 'read the kubelet command line');
      const argv = cmdline.split('\0');
      if (argv.at(-1) === '') argv.pop();
      if (argv.length === 0) throw new Error(`The kubelet command line (process ${pid}) is empty.`);
      return { pid, argv };
    });
  }

  /**
   * The kubelet's `--config` file, parsed; undefined when the kubelet runs without one. Throws when the flag
   * is given more than once or the file cannot be read or parsed.
   */
  kubeletConfigFile(policy: ExecPolicy): Promise<KubeletConfigFile | undefined> {
    return this.#once('kubelet-config', async () => {
      const { argv } = await this.kubelet(policy);
      const paths = flagValues(argv, 'config');
      if (paths.length > 1) throw new Error('The kubelet flag --config is set more than once.');
      const path = paths[0];
      if (path === undefined) return undefined;
      if (path === '') throw new Error('The kubelet flag --config is empty.');
      const text = await this.read(path, policy);
      if (text === undefined) throw new Error(`The kubelet configuration file ${path} does not exist.`);
      let config: unknown;
      try {
        config = parseYaml(text);
      } catch (err) {
        throw new Error(`The kubelet configuration file ${path} is not valid YAML: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (typeof config !== 'object' || config === null || Array.isArray(config))
        throw new Error(`The kubelet configuration file ${path} holds no configuration object.`);
      return { path, config: config as Record<string, unknown> };
    });
  }

  /** Owner and mode of node files (links followed on the node); undefined for those that do not exist. */
  async stat(paths: readonly string[], policy: ExecPolicy): Promise<Map<string, FileStat | undefined>> {
    const wanted = [...new Set(paths)];
    const missing = wanted.filter((p) => !this.#answers.has(`stat:${p}`));
    if (missing.length > 0) {
      const batch = this.#run(['sh', '-c', SCRIPTS.stat, 'stat', STAT_FORMAT, ...missing], policy, 'stat files').then(
        (out) => parseStatScript(out),
      );
      batch.catch(() => undefined);
      for (const p of missing) {
        const answer = batch.then((stats) => stats.get(p));
        // Each path's answer may go unawaited when an earlier one of the same call failed.
        answer.catch(() => undefined);
        this.#answers.set(`stat:${p}`, answer);
      }
    }
    const answers = await Promise.all(wanted.map((p) => this.#answers.get(`stat:${p}`) ?? Promise.resolve(undefined)));
    return new Map(wanted.map((p, i) => [p, answers[i] as FileStat | undefined]));
  }

  /** Owner and mode of one node file; throws when it does not exist. */
  async statFile(path: string, policy: ExecPolicy): Promise<FileStat> {
    const stat = (await this.stat([path], policy)).get(path);
    if (!stat) throw new Error(`The file ${path} does not exist on the node.`);
    return stat;
  }

  /**
   * The regular files under a node directory (not following links to files, as `find -type f`), or the file
   * itself; undefined when the path does not exist. Paths are the node's, with links in `dir` resolved.
   */
  filesUnder(dir: string, policy: ExecPolicy): Promise<FileStat[] | undefined> {
    return this.#once(`files:${dir}`, async () => {
      const out = await this.#run(
        ['sh', '-c', SCRIPTS.files, 'files', `${STAT_FORMAT}${TAB}%n`, dir],
        policy,
        'list files',
      );
      return parseFilesScript(out);
    });
  }

  /** The content of a node file; undefined when it does not exist. */
  read(path: string, policy: ExecPolicy): Promise<string | undefined> {
    return this.#once(`read:${path}`, async () => {
      const result = await this.exec(['sh', '-c', SCRIPTS.read, 'read', path], policy);
      if (result.exitCode === 3) return undefined;
      if (result.exitCode !== 0) throw commandError(`read ${path}`, result);
      return result.stdout;
    });
  }

  /** PIDs of the node's processes with this name (/proc/<pid>/comm), lowest first. */
  processes(name: string, policy: ExecPolicy): Promise<number[]> {
    return this.#once(`processes:${name}`, async () => {
      const out = await this.#run(['sh', '-c', PROCESSES_SCRIPT, 'processes', name], policy, 'list processes');
      return out
        .split('\n')
        .map((line) => Number(line.trim()))
        .filter((pid) => Number.isInteger(pid) && pid > 0)
        .sort((a, b) => a - b);
    });
  }

  /** TCP ports something listens on in the node's network namespace. */
  listeningPorts(policy: ExecPolicy): Promise<Set<number>> {
    return this.#once('listening', async () => {
      // /proc/net follows the reader's network namespace: the node's, as the pod uses the host network.
      const result = await this.exec(['sh', '-c', 'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; exit 0'], policy);
      if (result.exitCode !== 0) throw commandError('read /proc/net/tcp', result);
      return listeningTcpPorts(result.stdout);
    });
  }

  /** The SSH daemon's systemd unit files and links on the node. */
  sshUnits(policy: ExecPolicy): Promise<SshUnit[]> {
    return this.#once('ssh-units', async () => {
      const out = await this.#run(['sh', '-c', SCRIPTS.sshUnits], policy, 'list systemd units');
      return out
        .split('\n')
        .filter((line) => line.includes(TAB))
        .map((line) => {
          const [path = '', target = ''] = line.split(TAB);
          return { path, target };
        });
    });
  }

  /** Runs the node's kubectl (`version --client --output=json`) if it has one. */
  kubectl(policy: ExecPolicy): Promise<KubectlProbe> {
    return this.#once('kubectl', async (): Promise<KubectlProbe> => {
      const result = await this.exec(['sh', '-c', SCRIPTS.kubectl, 'kubectl'], policy);
      if (result.exitCode === NO_KUBECTL) return { found: false };
      const newline = result.stdout.indexOf('\n');
      const path = newline < 0 ? result.stdout : result.stdout.slice(0, newline);
      return { found: true, path, result: { ...result, stdout: newline < 0 ? '' : result.stdout.slice(newline + 1) } };
    });
  }

  #once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let answer = this.#answers.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = compute();
      answer.catch(() => undefined);
      this.#answers.set(key, answer);
    }
    return answer;
  }

  async #run(command: string[], policy: ExecPolicy, what: string): Promise<string> {
    const result = await this.exec(command, policy);
    if (result.exitCode !== 0) throw commandError(what, result);
    return result.stdout;
  }
}

function commandError(what: string, result: ExecResult): Error {
  const detail = result.stderr.trim() || result.stdout.trim();
  return new Error(`Could not ${what} on the node (exit code ${result.exitCode}${detail ? `: ${detail}` : ''}).`);
}

/** Parses the stat script's output: `path<TAB>-` or `path<TAB>perm<TAB>uid<TAB>gid<TAB>type`. */
export function parseStatScript(out: string): Map<string, FileStat | undefined> {
  const stats = new Map<string, FileStat | undefined>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const fields = line.split(TAB);
    const path = fields[0] ?? '';
    if (fields.length < 5) {
      stats.set(path, undefined);
      continue;
    }
    const [, permissions = '', uid = '', gid = '', type = ''] = fields;
    stats.set(path, { path, permissions, uid, gid, type });
  }
  return stats;
}

/** Parses the files script's output; paths lose the prefix of the node root. */
export function parseFilesScript(out: string, root: string = HOST_ROOT): FileStat[] | undefined {
  const lines = out.split('\n').filter(Boolean);
  if (lines[0] === 'missing' || lines.length === 0) return undefined;
  const files: FileStat[] = [];
  for (const line of lines.slice(1)) {
    const [permissions = '', uid = '', gid = '', type = '', ...rest] = line.split(TAB);
    const hostPath = rest.join(TAB);
    const path = hostPath === root ? '/' : hostPath.startsWith(`${root}/`) ? hostPath.slice(root.length) : hostPath;
    files.push({ path, permissions, uid, gid, type });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
