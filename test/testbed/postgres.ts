// A real PostgreSQL for tests, from Debian's packages (installed with apt-get when missing and running as
// root): initdb into a temporary directory (on tmpfs when there is one), the server on 127.0.0.1 with a free
// port and password authentication, run as the `postgres` user when the test runs as root (postgres refuses
// root). Like the other testbed processes it gets a parent-death signal and its directory is removed on
// destroy() or, when the test process was killed, by the next start. stop()/start() restart it on the same
// data and port for outage tests; several tests share one server with a database each (createDatabase).
import { spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  globSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sleep } from '../../src/util/time.ts';
import { alive, freePort, ManagedProcess } from './process.ts';

const OWNER_FILE = 'owner.pid';
const live = new Set<PostgresServer>();

process.once('exit', () => {
  for (const server of live) server.removeFilesSync();
});

export interface DatabaseOptions {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** The directory of the PostgreSQL binaries (newest installed version), installing Debian's package if needed. */
export function postgresBinDir(): string {
  const find = (): string | undefined =>
    globSync('/usr/lib/postgresql/*/bin/postgres')
      .sort((a, b) => Number(b.split('/')[3]) - Number(a.split('/')[3]))
      .map((p) => p.replace(/\/postgres$/, ''))[0];
  let dir = find();
  if (!dir && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env });
    dir = find();
  }
  if (!dir) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (Debian package)');
  return dir;
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** As root: the `postgres` user (from the Debian package); otherwise the current user. */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid === 0)
    throw new Error('no postgres user to run PostgreSQL as (postgres refuses root)');
  return { uid, gid: id('-g'), user: 'postgres' };
}

/** command + args run as `as` (setpriv), with the parent-death signal set after the user change. */
function asUser(as: RunAs | undefined, command: string, args: string[]): [string, string[]] {
  if (!as) return [command, args];
  return [
    'setpriv',
    [
      `--reuid=${as.uid}`,
      `--regid=${as.gid}`,
      '--init-groups',
      '--',
      'setpriv',
      '--pdeathsig',
      'KILL',
      '--',
      command,
      ...args,
    ],
  ];
}

export class PostgresServer {
  readonly host = '127.0.0.1';
  readonly dir: string;
  readonly dataDir: string;
  readonly superuser = 'postgres';
  readonly password: string;
  port = 0;
  private readonly bin: string;
  private readonly as: RunAs | undefined;
  private process: ManagedProcess | undefined;
  private databases = 0;
  private tls: { certPem: string; keyPem: string; caPem: string } | undefined;

  private constructor() {
    this.bin = postgresBinDir();
    this.as = runAs();
    sweepAbandoned();
    const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    this.dir = mkdtempSync(join(shm, 'argus-pg-'));
    writeFileSync(join(this.dir, OWNER_FILE), String(process.pid));
    this.dataDir = join(this.dir, 'data');
    this.password = randomBytes(12).toString('hex');
    if (this.as) chownSync(this.dir, this.as.uid, this.as.gid);
    live.add(this);
  }

  /**
   * initdb and start a server; destroy() stops it and removes its files. With `tls` the server presents that
   * certificate and accepts TCP connections only over TLS (pg_hba `hostssl`); `ca` is then what clients trust.
   */
  static async start(
    options: { tls?: { certPem: string; keyPem: string; caPem: string } } = {},
  ): Promise<PostgresServer> {
    const server = new PostgresServer();
    server.tls = options.tls;
    try {
      server.initdb();
      if (options.tls) server.requireTls(options.tls);
      server.port = await freePort();
      await server.start();
      return server;
    } catch (err) {
      await server.destroy();
      throw err;
    }
  }

  private initdb(): void {
    const pwfile = join(this.dir, 'pwfile');
    writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    if (this.as) chownSync(pwfile, this.as.uid, this.as.gid);
    const [cmd, args] = asUser(this.as, join(this.bin, 'initdb'), [
      '-D',
      this.dataDir,
      '-U',
      this.superuser,
      `--pwfile=${pwfile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const result = spawnSync(cmd, args, { encoding: 'utf8' });
    rmSync(pwfile, { force: true });
    if (result.status !== 0) throw new Error(`initdb failed (${result.status}): ${result.stderr || result.stdout}`);
  }

  /** Writes the serving certificate and a pg_hba.conf that allows TCP logins over TLS only. */
  private requireTls(tls: { certPem: string; keyPem: string }): void {
    const files: [string, string][] = [
      ['server.crt', tls.certPem],
      ['server.key', tls.keyPem],
      ['pg_hba.conf', 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n'],
    ];
    for (const [name, content] of files) {
      const file = join(this.dataDir, name);
      writeFileSync(file, content, { mode: 0o600 });
      if (this.as) chownSync(file, this.as.uid, this.as.gid);
    }
  }

  /** Starts the server (again, after stop(): same data directory and port) and waits until it accepts logins. */
  async start(): Promise<void> {
    if (this.process?.running) return;
    const logFile = join(this.dir, 'postgres.log');
    if (this.as && !existsSync(logFile)) {
      writeFileSync(logFile, '');
      chownSync(logFile, this.as.uid, this.as.gid);
    }
    const [cmd, args] = asUser(this.as, join(this.bin, 'postgres'), [
      '-D',
      this.dataDir,
      '-p',
      String(this.port),
      '-c',
      `listen_addresses=${this.host}`,
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=32MB',
      ...(this.tls ? ['-c', 'ssl=on'] : []),
    ]);
    // ManagedProcess adds its own setpriv --pdeathsig; the inner one (after the user change) is what counts.
    this.process = new ManagedProcess(`postgres:${this.port}`, cmd, args, logFile);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!this.process.running) throw this.process.failure('did not start');
      try {
        const client = this.client('postgres');
        await client.connect();
        await client.end();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw this.process.failure(`not ready: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }

  /**
   * Stops the server: `fast` (SIGINT: sessions ended, checkpoint) or `immediate` (SIGQUIT: like a crash, WAL
   * recovery at the next start). Data stays for start().
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const p = this.process;
    if (!p?.running || p.pid === undefined) return;
    process.kill(p.pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const timer = setTimeout(() => void p.kill(), 20_000);
    await p.waitForExit();
    clearTimeout(timer);
  }

  get running(): boolean {
    return !!this.process?.running;
  }

  /** A client for `database` as the superuser (not connected). */
  client(database = 'postgres'): pg.Client {
    return new pg.Client({
      host: this.host,
      port: this.port,
      user: this.superuser,
      password: this.password,
      database,
      ...(this.tls ? { ssl: { ca: this.tls.caPem } } : {}),
    });
  }

  /** A new database owned by a new role with a password, for one test (or one store). */
  async createDatabase(prefix = 'argus'): Promise<DatabaseOptions> {
    const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${++this.databases}_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const client = this.client();
    await client.connect();
    try {
      await client.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE ${name} OWNER ${name}`);
    } finally {
      await client.end();
    }
    return { host: this.host, port: this.port, database: name, user: name, password };
  }

  /** The last lines of the server log (for failures). */
  logTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'postgres.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Stops the server and removes its files. */
  async destroy(): Promise<void> {
    await this.stop('fast').catch(() => undefined);
    this.removeFilesSync();
  }

  removeFilesSync(): void {
    live.delete(this);
    if (this.process?.running) void this.process.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Removes directories of servers whose test process was killed before it could clean up. */
function sweepAbandoned(): void {
  for (const parent of ['/dev/shm', tmpdir()]) {
    let entries: string[];
    try {
      entries = readdirSync(parent).filter((e) => e.startsWith('argus-pg-'));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const dir = join(parent, entry);
      try {
        const pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
        if (pid && !alive(pid)) rmSync(dir, { recursive: true, force: true });
      } catch {
        // no owner file yet: being created right now, or not ours
      }
    }
  }
}
