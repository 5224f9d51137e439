// The network address of a node's kubelet endpoint. kube-apiserver refuses to proxy to loopback and
// link-local addresses, so each agent gets a network namespace of its own, joined to the machine by a veth
// pair on a /30 of 10.213.0.0/16: the machine side is `argus-kl-<n>` with 10.213.x.(4k+1), the node side
// eth0 with 10.213.x.(4k+2), where the kubelet listens. Nothing is routed anywhere else.
//
// The namespace has no name and no process: a short-lived helper is started in it (unshare --net), binds the
// listening socket and hands it to the agent over IPC, then exits. The socket alone keeps the namespace
// alive, so closing it, or the death of the agent's process however it dies, destroys the namespace and with
// it both ends of the veth pair. Nothing needs sweeping. The link name is the lock on its /30: creating a
// link whose name exists fails, and the next number is tried.
import { spawn, spawnSync } from 'node:child_process';
import type { Server } from 'node:net';
import type { HostTools } from './host.ts';

export const LINK_PREFIX = 'argus-kl-';
const MAX_LINKS = 16384; // /30s in a /16

export interface KubeletAddress {
  /** A listening TCP socket in the namespace (pass it to server.listen()). */
  handle: Server;
  /** The node-side address the socket is bound to. */
  address: string;
  port: number;
  /** The machine-side link; it disappears with the namespace. */
  link: string;
}

// Runs in the new namespace: waits for the address, binds, hands the socket over and exits.
const HELPER = `
const net = require('node:net');
process.once('message', ({ host, port }) => {
  const server = net.createServer();
  server.once('error', (err) => { process.send({ error: err.message }); });
  server.listen({ host, port, exclusive: true }, () => process.send('listening', server, () => server.close()));
});
process.on('disconnect', () => process.exit(0));
process.send('ready');
`;

/** A listening socket for the kubelet endpoint on a non-loopback address in a new network namespace. */
export async function kubeletAddress(tools: HostTools, port = 10250): Promise<KubeletAddress> {
  const { setpriv, unshare, nsenter } = tools;
  const ip = findTool('ip');
  const helper = spawn(setpriv, ['--pdeathsig', 'KILL', '--', unshare, '--net', '--', process.execPath, '-e', HELPER], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  helper.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<never>((_, reject) =>
    helper.once('exit', (code) => reject(new Error(`network namespace helper exited (${code}): ${stderr.trim()}`))),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([message(helper, (m) => m === 'ready'), exited]);
    const pid = String(helper.pid);
    let link = '';
    let index = 0;
    for (; index < MAX_LINKS; index++) {
      link = `${LINK_PREFIX}${index}`;
      const added = spawnSync(ip, ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pid], {
        encoding: 'utf8',
      });
      if (added.status === 0) break;
      if (!/File exists/.test(added.stderr)) throw new Error(`ip link add ${link}: ${added.stderr.trim()}`);
    }
    if (index === MAX_LINKS) throw new Error('no free kubelet subnet in 10.213.0.0/16');
    const subnet = `10.213.${index >> 6}`;
    const hostSide = `${subnet}.${(index & 63) * 4 + 1}`;
    const address = `${subnet}.${(index & 63) * 4 + 2}`;
    run(ip, ['-batch', '-'], `addr add ${hostSide}/30 dev ${link}\nlink set ${link} up\n`);
    run(nsenter, ['-t', pid, '-n', '--', ip, '-batch', '-'], `addr add ${address}/30 dev eth0\nlink set eth0 up\n`);
    helper.send({ host: address, port });
    const handle = await Promise.race([
      new Promise<Server>((resolve, reject) => {
        helper.once('message', (m: unknown, h: unknown) => {
          if (m === 'listening' && h) resolve(h as Server);
          else reject(new Error(`could not listen on ${address}:${port}: ${JSON.stringify(m)}`));
        });
      }),
      exited,
    ]);
    helper.disconnect();
    return { handle, address, port, link };
  } catch (err) {
    helper.kill('SIGKILL');
    throw err;
  }
}

/** Whether a machine-side link of some kubelet namespace still exists. */
export function linkExists(link: string): boolean {
  return spawnSync(findTool('ip'), ['link', 'show', link], { stdio: 'ignore' }).status === 0;
}

function message(child: ReturnType<typeof spawn>, match: (m: unknown) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const listener = (m: unknown): void => {
      if (!match(m)) return;
      child.off('message', listener);
      resolve();
    };
    child.on('message', listener);
  });
}

function run(command: string, args: string[], input: string): void {
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim() || result.error}`);
}

let ipPath: string | undefined;

function findTool(name: 'ip'): string {
  if (ipPath) return ipPath;
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const path = `${dir}/${name}`;
    if (spawnSync(path, ['-V'], { stdio: 'ignore' }).status === 0) return (ipPath = path);
  }
  throw new Error(`the testbed kubelet endpoint needs ${name} (iproute2)`);
}
