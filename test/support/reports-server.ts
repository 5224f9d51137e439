// A reports API server in this process behind a testbed control plane's aggregation layer: a serving
// certificate from a fresh CA, the server on 127.0.0.1 and an APIService per served group. Used by
// test/integration/reports-server.test.ts and bench/reports.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAuthenticationConfig } from '../../src/kube/authn-config.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { ReportsServer } from '../../src/reports-server/server.ts';
import type { ReportStorage } from '../../src/reports-server/storage/types.ts';
import { createCA, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../../src/util/pki.ts';
import { registerAPIService, type RegisteredAPIService } from '../testbed/aggregation.ts';
import type { ControlPlane } from '../testbed/controlplane.ts';

/** The groups the reports server serves, with the Service name each APIService points at. */
export const reportGroups = [
  { group: 'wgpolicyk8s.io', version: 'v1alpha2', serviceName: 'wgpolicyk8s' },
  { group: 'openreports.io', version: 'v1alpha1', serviceName: 'openreports' },
  { group: 'reports.argus.io', version: 'v1alpha1', serviceName: 'argus-analytics' },
] as const;

/** A serving certificate valid for every Service name of reportGroups and for 127.0.0.1. */
export function reportsServingPair(ca: CertificateAuthority): Promise<KeyPairPem> {
  return issueCertificate(ca, {
    commonName: 'argus-reports.default.svc',
    hosts: [...reportGroups.map((g) => `${g.serviceName}.default.svc`), '127.0.0.1', 'localhost'],
    usage: 'server',
  });
}

export interface AggregatedReportsServer {
  server: ReportsServer;
  port: number;
  servingCa: CertificateAuthority;
  registrations: RegisteredAPIService[];
  /** Removes the APIServices, then closes the server (the storage stays open: its owner closes it). */
  close(): Promise<void>;
}

export interface AggregatedReportsServerOptions {
  /** The groups to register (default: all of reportGroups). */
  groups?: readonly string[];
  /** The admin client the server authenticates, authorises and reads namespaces with (default: a new one). */
  client?: KubeClient;
}

/**
 * Starts a ReportsServer on `storage` (certificate files tls.crt and tls.key written to `dir`) and registers it
 * with `cp`, waiting until each APIService is Available.
 */
export async function startAggregatedReportsServer(
  cp: ControlPlane,
  storage: ReportStorage,
  dir: string,
  options: AggregatedReportsServerOptions = {},
): Promise<AggregatedReportsServer> {
  const groups = options.groups ?? reportGroups.map((g) => g.group);
  const client = options.client ?? cp.client('argus-testbed/reports-server');
  const servingCa = await createCA('argus-reports-test-ca');
  const pair = await reportsServingPair(servingCa);
  writeFileSync(join(dir, 'tls.crt'), pair.certPem);
  writeFileSync(join(dir, 'tls.key'), pair.keyPem);
  const server = new ReportsServer({
    storage,
    serving: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    host: '127.0.0.1',
    port: 0,
    authentication: await readAuthenticationConfig(client),
    authenticationClient: client,
    authorizationClient: client,
    namespaceClient: client,
    certReloadIntervalMs: 200,
    version: '0.0.0-test',
  });
  const port = await server.listen();
  const registrations: RegisteredAPIService[] = [];
  try {
    for (const { group, version, serviceName } of reportGroups.filter((g) => groups.includes(g.group))) {
      registrations.push(
        await registerAPIService(cp, {
          group,
          version,
          serviceName,
          port,
          caBundle: servingCa.certPem,
          timeoutMs: 60_000,
        }),
      );
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    server,
    port,
    servingCa,
    registrations,
    async close() {
      for (const r of registrations) await r.remove().catch(() => undefined);
      await server.close();
    },
  };
}
