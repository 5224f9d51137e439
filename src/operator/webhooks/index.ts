// The operator's admission webhooks as one piece (docs/adr/0016-compliance-operator.md): the serving certificate
// from the shared Secret in the runner cluster, the HTTPS server (/mutate, /validate, /healthz), both webhook
// configurations applied on the target, and a periodic check that rotates the certificate and heals the
// configurations. Every replica runs it, leader or not (admission is served by all of them; their writes agree).
//
// Rights it needs: in the runner namespace get, create and update of Secrets (WEBHOOK_CERT_SECRET); on the
// target get of ConfigMaps in the namespaces scans name (kube-system by default), get and list of reportoutputs,
// and get and patch of mutating- and validatingwebhookconfigurations named WEBHOOK_CONFIGURATION_NAME (server-side
// apply creates them with patch alone).
// With failurePolicy Fail, creates and updates of the three kinds fail while no replica serves.
import type { RulesetCatalog } from '../../api/diki/validate.ts';
import type { KubeClient } from '../../kube/client.ts';
import { errorMessage, logger } from '../../util/log.ts';
import { sleep } from '../../util/time.ts';
import { DEFAULT_CERT_LIFETIME_MS, WebhookCertificates, type WebhookCertificate } from './certificates.ts';
import { applyWebhookConfigurations, type WebhookEndpoint } from './configurations.ts';
import { mutate, validate } from './handlers.ts';
import { clientLookup } from './references.ts';
import { AdmissionServer } from './server.ts';

export * from './admission.ts';
export * from './certificates.ts';
export * from './configurations.ts';
export * from './handlers.ts';
export * from './references.ts';
export * from './server.ts';

const log = logger('admission-webhooks');

export const DEFAULT_CHECK_INTERVAL_MS = 10 * 60 * 1000;
export const DEFAULT_LOOKUP_TIMEOUT_MS = 3_000;

export interface AdmissionWebhooksOptions {
  /** Client of the runner cluster (the certificate Secret). */
  runnerClient: KubeClient;
  /** Client of the target cluster (references, webhook configurations). */
  targetClient: KubeClient;
  runnerNamespace: string;
  catalog: RulesetCatalog;
  argusVersion: string;
  /** Port to listen on; default 0 (a free one, see `port` of the result). */
  port?: number;
  /** Address to listen on; default 0.0.0.0. */
  host?: string;
  /**
   * Names and addresses of the serving certificate (at least one in all). Without dnsNames and with `service`,
   * the Service's names `<name>.<namespace>.svc` and `<name>.<namespace>.svc.cluster.local`.
   */
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Base URL kube-apiserver calls (`/mutate`, `/validate` appended); a function gets the port listened on. */
  url?: string | ((port: number) => string);
  /** Or the Service in front of the operator (port default 443). */
  service?: { namespace: string; name: string; port?: number };
  /** Lifetime of each serving certificate; default 365 days. Rotation starts when a third is left. */
  certLifetimeMs?: number;
  /** How often the certificate and configurations are checked; default 10 minutes. */
  checkIntervalMs?: number;
  /** How long a new CA is trusted before certificates it signed are served; default 10 s. */
  caPropagationMs?: number;
  /** Timeout of each lookup in the target during admission; default 3 s. */
  lookupTimeoutMs?: number;
  maxBodyBytes?: number;
  /** Aborting closes the server and stops the checks. */
  signal?: AbortSignal;
}

export interface AdmissionWebhooks {
  port: number;
  server: AdmissionServer;
  /** Runs a check now (certificate, configurations, serving certificate); the periodic checks call it. */
  check(): Promise<WebhookCertificate>;
  close(): Promise<void>;
}

/**
 * Starts the admission webhooks: reads or creates the certificate Secret, listens, applies the webhook
 * configurations on the target and keeps checking. Resolves once the configurations are applied (kube-apiserver
 * calls the webhooks shortly after); rejects when the first certificate or apply fails.
 */
export async function startAdmissionWebhooks(options: AdmissionWebhooksOptions): Promise<AdmissionWebhooks> {
  if (!options.url === !options.service) throw new Error('admission webhooks need exactly one of url and service');
  const service = options.service;
  const serviceNames = service
    ? [`${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}.svc.cluster.local`]
    : [];
  const certificates = new WebhookCertificates({
    client: options.runnerClient,
    namespace: options.runnerNamespace,
    dnsNames: options.dnsNames ?? serviceNames,
    ipAddresses: options.ipAddresses ?? [],
    ...(options.certLifetimeMs !== undefined ? { lifetimeMs: options.certLifetimeMs } : {}),
    ...(options.caPropagationMs !== undefined ? { caPropagationMs: options.caPropagationMs } : {}),
  });
  const validationLookup = clientLookup(options.targetClient, options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS);
  const first = await certificates.reconcile();
  const server = new AdmissionServer({
    certificate: { cert: first.cert, key: first.key },
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    handlers: {
      mutate: (request) => mutate(request, { catalog: options.catalog }),
      validate: (request) =>
        validate(request, { catalog: options.catalog, argusVersion: options.argusVersion, lookup: validationLookup }),
    },
  });
  const port = await server.listen();
  const endpoint: WebhookEndpoint = options.service
    ? { service: options.service }
    : { url: typeof options.url === 'function' ? options.url(port) : options.url! };

  const check = async (): Promise<WebhookCertificate> => {
    const current = await certificates.reconcile();
    // Trust first, then serve: the bundle always holds the CA of what any replica serves.
    await applyWebhookConfigurations(options.targetClient, endpoint, current.caBundle);
    server.setCertificate({ cert: current.cert, key: current.key });
    return current;
  };
  let latest: WebhookCertificate;
  try {
    latest = await check();
  } catch (err) {
    await server.close();
    throw err;
  }

  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  // At least six checks per lifetime, so a rotation starting at a third left always finishes in time.
  const interval = Math.min(
    options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS,
    (options.certLifetimeMs ?? DEFAULT_CERT_LIFETIME_MS) / 6,
  );
  const loop = (async () => {
    let failures = 0;
    while (!signal.aborted) {
      // A staged certificate is promoted as soon as it may be; a failed check is retried sooner.
      let wait = failures > 0 ? Math.min(interval, 5_000 * failures) : interval;
      if (latest.promoteAt) wait = Math.min(wait, Math.max(0, latest.promoteAt.getTime() - Date.now()) + 50);
      await sleep(wait, signal);
      if (signal.aborted) break;
      try {
        latest = await check();
        failures = 0;
      } catch (err) {
        failures++;
        log.warn({ err: errorMessage(err) }, 'webhook certificate check failed; retrying');
      }
    }
  })();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      stop.abort();
      await loop;
      await server.close();
    })());
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { port, server, check, close };
}
