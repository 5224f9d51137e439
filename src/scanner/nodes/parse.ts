// Parsing of what node-level rules read: command-line flags, Go durations, file modes and owners as `stat`
// prints them, listening sockets from /proc/net, and version numbers. Pure functions, unit-tested.

/**
 * Every value of `flag` in a command line, in the forms Kubernetes components accept: `--flag=v`, `-flag=v`,
 * `--flag v`, `-flag v`, and a bare `--flag` (value ""). A following argument that starts with `-` is not a
 * value. Values are trimmed.
 */
export function flagValues(argv: readonly string[], flag: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    for (const prefix of [`--${flag}`, `-${flag}`]) {
      if (arg === prefix) {
        const next = argv[i + 1];
        values.push(next !== undefined && next !== '' && !next.startsWith('-') ? next.trim() : '');
        return;
      }
      if (arg.startsWith(`${prefix}=`)) {
        values.push(arg.slice(prefix.length + 1).trim());
        return;
      }
    }
  });
  return values;
}

/** The values of `key` in comma-separated `k=v` lists such as `--feature-gates=A=true,B=false`. */
export function innerValues(lists: readonly string[], key: string): string[] {
  const values: string[] = [];
  for (const list of lists)
    for (const item of list.split(',')) {
      const eq = item.indexOf('=');
      if (eq >= 0 && item.slice(0, eq).trim() === key) values.push(item.slice(eq + 1).trim());
    }
  return values;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration string (`5m0s`, `4h`, `1.5h`, `300ms`, `0`) in nanoseconds; throws when malformed. */
export function parseGoDuration(text: string): number {
  const input = text.trim();
  const match = /^([-+]?)((?:\d*\.?\d*[a-zµμ]+)+|0)$/.exec(input);
  if (!match) throw new Error(`time: invalid duration "${text}"`);
  const [, sign, body = ''] = match;
  if (body === '0') return 0;
  let total = 0;
  for (const [, number = '', unit = ''] of body.matchAll(/(\d*\.?\d*)([a-zµμ]+)/g)) {
    const factor = UNIT_NS[unit];
    if (factor === undefined) throw new Error(`time: unknown unit "${unit}" in duration "${text}"`);
    if (number === '' || number === '.') throw new Error(`time: invalid duration "${text}"`);
    total += Number(number) * factor;
  }
  return sign === '-' ? -total : total;
}

const trimNumber = (n: number): string => String(Number(n.toFixed(9)));

/** Nanoseconds as Go's Duration.String() prints them: `5m0s`, `4h0m0s`, `30s`, `1.5s`, `300ms`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 0) return `-${formatGoDuration(-ns)}`;
  if (ns < 1e3) return `${trimNumber(ns)}ns`;
  if (ns < 1e6) return `${trimNumber(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trimNumber(ns / 1e6)}ms`;
  const hours = Math.floor(ns / 3600e9);
  const minutes = Math.floor((ns - hours * 3600e9) / 60e9);
  const seconds = `${trimNumber((ns - hours * 3600e9 - minutes * 60e9) / 1e9)}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

/** A file as `stat -L -c '%a %u %g %F'` describes it, with the node path it was asked for. */
export interface FileStat {
  /** The path on the node (not under /host). */
  path: string;
  /** Permission bits in octal as `%a` prints them, e.g. `644`. */
  permissions: string;
  uid: string;
  gid: string;
  /** `regular file`, `directory`, ... */
  type: string;
}

/** Whether any permission bit of `permissions` is outside `max` (both octal), e.g. 0664 exceeds 0644. */
export function exceedsPermissions(permissions: string, max: string): boolean {
  const mode = Number.parseInt(permissions, 8);
  const allowed = Number.parseInt(max, 8);
  if (!/^[0-7]{1,4}$/.test(permissions) || Number.isNaN(mode))
    throw new Error(`not an octal file mode: ${permissions}`);
  return (mode & ~allowed & 0o7777) !== 0;
}

/** Ports on which a TCP socket listens, from the text of /proc/net/tcp and /proc/net/tcp6. */
export function listeningTcpPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st ...; state 0A is LISTEN.
    if (fields.length < 4 || !/^\d+:$/.test(fields[0] ?? '') || fields[3] !== '0A') continue;
    const port = Number.parseInt(fields[1]?.split(':').pop() ?? '', 16);
    if (Number.isInteger(port)) ports.add(port);
  }
  return ports;
}

export interface Version {
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
  text: string;
}

/** A semantic version such as `v1.31.2` or `1.12.9-beta.0+abc`; undefined when the text is none. */
export function parseVersion(text: string): Version | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!match) return undefined;
  const [, major = '0', minor = '0', patch = '0', prerelease] = match;
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    prerelease,
    text: `${major}.${minor}.${patch}${prerelease ? `-${prerelease}` : ''}`,
  };
}

/**
 * Whether `version` is below `bound` (a release, x.y.z). Pre-releases never satisfy such a constraint, as in
 * the semver library diki uses.
 */
export function versionBelow(version: Version, bound: readonly [number, number, number]): boolean {
  if (version.prerelease) return false;
  const own = [version.major, version.minor, version.patch];
  for (let i = 0; i < 3; i++) if (own[i] !== bound[i]) return own[i]! < bound[i]!;
  return false;
}
