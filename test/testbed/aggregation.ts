// Aggregated API servers run by the test process itself: kube-apiserver's aggregator proxies
// /apis/<group>/<version> to a local HTTPS server through an APIService and an ExternalName Service.
//
// Routing (kube-apiserver v1.36, --enable-aggregator-routing=false, the default): the aggregator resolves
// an ExternalName Service to `<spec.externalName>:<APIService spec.service.port>`; the Service's own ports
// do not matter and no Endpoints are needed. It verifies the serving certificate against the APIService's
// caBundle for the name `<service>.<namespace>.svc`, whatever address it dialled.
import type { V1APIService, V1APIServiceCondition } from '@kubernetes/client-node';
import type { KubeClient } from '../../src/kube/client.ts';
import { readAuthenticationConfig, type RequestHeaderConfig } from '../../src/kube/authn-config.ts';
import { Resources } from '../../src/kube/resources.ts';
import { issueCertificate, type CertificateAuthority, type KeyPairPem } from '../../src/util/pki.ts';
import { waitFor } from '../../src/util/time.ts';
import type { ControlPlane } from './controlplane.ts';

export interface APIServiceRegistration {
  group: string;
  version: string;
  /** Port of the aggregated server on 127.0.0.1. */
  port: number;
  /** PEM of the CA that signed the aggregated server's serving certificate. */
  caBundle: string;
  /** Default: the group with dots replaced by dashes. */
  serviceName?: string;
  /** Default 'default'. */
  namespace?: string;
  groupPriorityMinimum?: number;
  versionPriority?: number;
  /** How long to wait for Available=True; default 30 s. */
  timeoutMs?: number;
}

export interface RegisteredAPIService {
  /** `<version>.<group>` */
  name: string;
  serviceName: string;
  namespace: string;
  /** Deletes the APIService and its Service and waits until the APIService is gone. */
  remove(): Promise<void>;
}

const clients = new WeakMap<ControlPlane, KubeClient>();
const clientOf = (cp: ControlPlane): KubeClient => {
  let client = clients.get(cp);
  if (!client) clients.set(cp, (client = cp.client('argus-testbed/aggregation')));
  return client;
};

/** Registers a local aggregated API server and waits until kube-apiserver reports it Available. */
export async function registerAPIService(
  cp: ControlPlane,
  options: APIServiceRegistration,
): Promise<RegisteredAPIService> {
  const client = clientOf(cp);
  const name = `${options.version}.${options.group}`;
  const serviceName = options.serviceName ?? options.group.replaceAll('.', '-');
  const namespace = options.namespace ?? 'default';
  await client.create(Resources.services, {
    metadata: { name: serviceName, namespace },
    spec: { type: 'ExternalName', externalName: '127.0.0.1' },
  });
  const apiService: V1APIService = {
    metadata: { name },
    spec: {
      group: options.group,
      version: options.version,
      service: { namespace, name: serviceName, port: options.port },
      caBundle: Buffer.from(options.caBundle).toString('base64'),
      groupPriorityMinimum: options.groupPriorityMinimum ?? 1000,
      versionPriority: options.versionPriority ?? 15,
    },
  };
  await client.create(Resources.apiServices, apiService);
  let last: V1APIServiceCondition | undefined;
  try {
    await waitFor(
      `APIService ${name} to become Available`,
      async () => {
        const current = await client.get<V1APIService>(Resources.apiServices, name);
        last = current.status?.conditions?.find((c) => c.type === 'Available');
        return last?.status === 'True';
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 200 },
    );
  } catch (err) {
    const why = last ? ` (Available=${last.status}, ${last.reason}: ${last.message})` : '';
    throw new Error(`${(err as Error).message}${why}`, { cause: err });
  }
  return {
    name,
    serviceName,
    namespace,
    async remove() {
      await client.deleteIfExists(Resources.apiServices, name);
      await client.deleteIfExists(Resources.services, serviceName, namespace);
      await waitFor(
        `APIService ${name} to be deleted`,
        async () => !(await client.getOrUndefined(Resources.apiServices, name)),
      );
    },
  };
}

/** A serving certificate for an aggregated server behind Service `serviceName` in `namespace`. */
export function aggregatedServingCert(
  ca: CertificateAuthority,
  serviceName: string,
  namespace = 'default',
): Promise<KeyPairPem> {
  return issueCertificate(ca, {
    commonName: `${serviceName}.${namespace}.svc`,
    hosts: [
      `${serviceName}.${namespace}.svc`,
      `${serviceName}.${namespace}.svc.cluster.local`,
      '127.0.0.1',
      'localhost',
    ],
    usage: 'server',
  });
}

/** The front-proxy settings an aggregated server of `cp` must use to authenticate proxied requests. */
export async function frontProxyConfig(cp: ControlPlane): Promise<RequestHeaderConfig> {
  const config = await readAuthenticationConfig(clientOf(cp));
  if (!config.requestHeader) throw new Error(`control plane ${cp.name} publishes no requestheader settings`);
  return config.requestHeader;
}
