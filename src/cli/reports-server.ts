// `argus reports-server`: the reports API server (src/reports-server/server.ts) on SQLite or PostgreSQL,
// with the serving certificate from files (reloaded on change) or generated into --cert-dir, and the
// authentication/authorisation delegated to kube-apiserver (in-cluster or through kubeconfigs).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readAuthenticationConfig } from '../kube/authn-config.ts';
import { KubeClient } from '../kube/client.ts';
import { manifestsYaml, reportsServerManifests } from '../reports-server/manifests.ts';
import { migrateFromCrds } from '../reports-server/migrate.ts';
import { ReportsServer } from '../reports-server/server.ts';
import { openStorage } from '../reports-server/storage/index.ts';
import type { PostgresStorageOptions, SqliteStorageOptions } from '../reports-server/storage/types.ts';
import { errorMessage, logger } from '../util/log.ts';
import { createCA, issueCertificate } from '../util/pki.ts';
import { version } from './version.ts';

const log = logger('reports-server');

interface Flags {
  storage: string;
  clusterName: string;
  bindAddress: string;
  securePort: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  certDir: string;
  tlsSan: string[];
  kubeconfig?: string;
  authenticationKubeconfig?: string;
  authorizationKubeconfig?: string;
  namespaceLifecycle: boolean;
}

/** `sqlite:PATH` or `postgres://user:password@host:port/database?schema=s&sslmode=require`. */
export function parseStorage(value: string, clusterName: string): SqliteStorageOptions | PostgresStorageOptions {
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new Error('--storage sqlite:PATH needs a path');
    return { backend: 'sqlite', path, clusterName };
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    const url = new URL(value);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!database) throw new Error('--storage postgres://... needs a database name');
    const sslmode = url.searchParams.get('sslmode');
    const options: PostgresStorageOptions = {
      backend: 'postgres',
      host: url.hostname || '127.0.0.1',
      database,
      user: decodeURIComponent(url.username) || 'postgres',
      clusterName,
    };
    if (url.port) options.port = Number(url.port);
    const password = url.password ? decodeURIComponent(url.password) : process.env.PGPASSWORD;
    if (password) options.password = password;
    const schema = url.searchParams.get('schema');
    if (schema) options.schema = schema;
    if (sslmode && sslmode !== 'disable') {
      const ca = url.searchParams.get('sslrootcert');
      options.ssl = {
        rejectUnauthorized: sslmode === 'verify-ca' || sslmode === 'verify-full',
        ...(ca ? { ca: readFileSync(ca, 'utf8') } : {}),
      };
    }
    return options;
  }
  throw new Error(`--storage must be sqlite:PATH or postgres://..., not ${value}`);
}

/** The serving certificate files: as given, or a self-signed pair generated once into `certDir`. */
async function servingFiles(flags: Flags): Promise<{ certFile: string; keyFile: string }> {
  if (flags.tlsCertFile || flags.tlsPrivateKeyFile) {
    if (!flags.tlsCertFile || !flags.tlsPrivateKeyFile) {
      throw new Error('--tls-cert-file and --tls-private-key-file go together');
    }
    return { certFile: flags.tlsCertFile, keyFile: flags.tlsPrivateKeyFile };
  }
  const certFile = join(flags.certDir, 'apiserver.crt');
  const keyFile = join(flags.certDir, 'apiserver.key');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(flags.certDir, { recursive: true });
  const ca = await createCA(`argus-reports-server-ca@${Math.floor(Date.now() / 1000)}`);
  const pair = await issueCertificate(ca, {
    commonName: 'argus-reports-server',
    hosts: ['localhost', '127.0.0.1', hostname(), ...flags.tlsSan],
    usage: 'server',
  });
  writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  writeFileSync(certFile, `${pair.certPem.trim()}\n${ca.certPem.trim()}\n`);
  log.info({ certFile }, 'generated a self-signed serving certificate');
  return { certFile, keyFile };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerReportsServer(program: Command): void {
  const command = program.command('reports-server');
  command
    .command('manifests')
    .description(
      'print the manifests that run the reports API server in a cluster (RBAC, Service, Deployment, APIServices)',
    )
    .requiredOption(
      '--ca-bundle-file <path>',
      'PEM of the CA that signed the serving certificate (secret argus-reports-server-tls)',
    )
    .option('--namespace <name>', 'namespace to run in', 'argus-system')
    .option('--image <image>', 'the argus image')
    .option('--storage <url>', 'sqlite (one replica on a volume) or postgres://user@host:port/database', 'sqlite')
    .option('--postgres-password-secret <name>', 'Secret with key `password` for PostgreSQL')
    .option('--replicas <n>', 'replicas (PostgreSQL only)', '2')
    .option('--cluster-name <name>', 'cluster name in the SQL views')
    .action(
      (flags: {
        caBundleFile: string;
        namespace: string;
        image?: string;
        storage: string;
        postgresPasswordSecret?: string;
        replicas: string;
        clusterName?: string;
      }) => {
        const manifests = reportsServerManifests({
          caBundle: readFileSync(flags.caBundleFile, 'utf8'),
          namespace: flags.namespace,
          storage: flags.storage,
          replicas: Number(flags.replicas),
          ...(flags.image ? { image: flags.image } : {}),
          ...(flags.postgresPasswordSecret ? { postgresPasswordSecret: flags.postgresPasswordSecret } : {}),
          ...(flags.clusterName ? { clusterName: flags.clusterName } : {}),
        });
        process.stdout.write(manifestsYaml(manifests));
      },
    );
  command
    .command('migrate')
    .description(
      'copy the reports stored as CRDs in etcd into the store and hand the API groups over to a running reports server',
    )
    .requiredOption('--ca-bundle-file <path>', 'PEM of the CA that signed the reports server certificate')
    .option('--storage <url>', 'the store the reports server uses: sqlite:PATH or postgres://...', 'sqlite:reports.db')
    .option('--cluster-name <name>', 'cluster name in the SQL views', 'default')
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--service-namespace <name>', 'namespace of the reports server Service', 'argus-system')
    .option('--service-name <name>', 'name of the reports server Service', 'argus-reports-server')
    .option('--service-port <port>', 'port of the reports server Service', '443')
    .action(
      async (flags: {
        caBundleFile: string;
        storage: string;
        clusterName: string;
        kubeconfig?: string;
        serviceNamespace: string;
        serviceName: string;
        servicePort: string;
      }) => {
        const client = KubeClient.fromOptions({
          kubeconfig: flags.kubeconfig,
          userAgent: 'argus-reports-server/migrate',
        });
        const storage = await openStorage(parseStorage(flags.storage, flags.clusterName));
        try {
          const result = await migrateFromCrds(client, storage, {
            service: { namespace: flags.serviceNamespace, name: flags.serviceName, port: Number(flags.servicePort) },
            caBundle: readFileSync(flags.caBundleFile, 'utf8'),
          });
          for (const [resource, count] of Object.entries(result.copied)) {
            process.stdout.write(`${resource}: ${count} copied\n`);
          }
          process.stdout.write(
            `${result.followed} changes followed during the switch; the API groups are served by the reports server\n`,
          );
        } finally {
          await storage.close();
          await client.close();
        }
      },
    );
  command
    .description('PolicyReport API server backed by SQLite or PostgreSQL, served through the aggregation layer')
    .option(
      '--storage <url>',
      'sqlite:PATH or postgres://user:password@host:port/database[?schema=s]',
      'sqlite:reports.db',
    )
    .option('--cluster-name <name>', 'cluster name in the SQL views', 'default')
    .option('--bind-address <ip>', 'address to listen on', '0.0.0.0')
    .option('--secure-port <port>', 'HTTPS port', '6443')
    .option('--tls-cert-file <path>', 'serving certificate (PEM, reloaded when it changes)')
    .option('--tls-private-key-file <path>', 'key of the serving certificate (PEM)')
    .option(
      '--cert-dir <dir>',
      'where a self-signed certificate is generated without --tls-cert-file',
      'apiserver.local.config/certificates',
    )
    .option('--tls-san <name>', 'extra DNS name or IP of the generated certificate, repeatable', collect, [])
    .option('--kubeconfig <path>', 'kubeconfig for both delegations (default: in-cluster)')
    .option('--authentication-kubeconfig <path>', 'kubeconfig for TokenReview and the authentication ConfigMap')
    .option('--authorization-kubeconfig <path>', 'kubeconfig for SubjectAccessReview')
    .option('--no-namespace-lifecycle', 'do not refuse creates into missing or terminating namespaces')
    .action(async (flags: Flags) => {
      const port = Number(flags.securePort);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--secure-port: invalid port ${flags.securePort}`);
      const storageOptions = parseStorage(flags.storage, flags.clusterName);
      const serving = await servingFiles(flags);
      const authn = KubeClient.fromOptions({
        kubeconfig: flags.authenticationKubeconfig ?? flags.kubeconfig,
        userAgent: 'argus-reports-server/authentication',
      });
      const authz = KubeClient.fromOptions({
        kubeconfig: flags.authorizationKubeconfig ?? flags.kubeconfig,
        userAgent: 'argus-reports-server/authorization',
      });
      const authentication = await readAuthenticationConfig(authn);
      const storage = await openStorage(storageOptions);
      const server = new ReportsServer({
        storage,
        serving,
        host: flags.bindAddress,
        port,
        authentication,
        refreshAuthentication: () => readAuthenticationConfig(authn),
        authenticationClient: authn,
        authorizationClient: authz,
        ...(flags.namespaceLifecycle ? { namespaceClient: authz } : {}),
        version,
      });
      const listening = await server.listen();
      process.stderr.write(
        `argus reports-server: listening on ${flags.bindAddress}:${listening} (${storage.backend})\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          resolve();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      try {
        await server.close();
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'closing the server');
      }
      await storage.close();
      await Promise.all([authn.close(), authz.close()]);
    });
}
