// Admission webhooks served by the test process itself: an HTTPS server on 127.0.0.1, a serving
// certificate for it, and Validating/MutatingWebhookConfigurations that point kube-apiserver at it by URL.
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  V1LabelSelector,
  V1MutatingWebhook,
  V1RuleWithOperations,
  V1ValidatingWebhook,
} from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { createCA, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../../src/util/pki.ts';
import { waitFor } from '../../src/util/time.ts';
import type { ControlPlane } from './controlplane.ts';

export interface HttpsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `handler` over HTTPS on 127.0.0.1 at a free port, with PEM `cert` and `key` and any other TLS options. */
export async function serveHttps(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  tls: ServerOptions & { cert: string; key: string },
): Promise<HttpsServer> {
  const server = createServer(tls, (req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        // kube-apiserver keeps connections alive; without this, close() would wait for them to idle out.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A serving certificate for 127.0.0.1 and localhost, issued by `ca` or by a new CA (returned along). */
export async function webhookServingCert(
  ca?: CertificateAuthority,
): Promise<{ ca: CertificateAuthority; cert: KeyPairPem }> {
  ca ??= await createCA('argus-testbed-webhook-ca');
  const cert = await issueCertificate(ca, {
    commonName: 'argus-testbed-webhook',
    hosts: ['127.0.0.1', 'localhost'],
    usage: 'server',
  });
  return { ca, cert };
}

/** The `request` of an AdmissionReview (admission.k8s.io/v1), as far as tests look at it. */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  name?: string;
  namespace?: string;
  userInfo: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object?: { metadata?: { name?: string; labels?: Record<string, string> } } & Record<string, unknown>;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** What a webhook decides; `uid` is filled in. `patch` is a JSONPatch (operations, not yet base64). */
export interface AdmissionDecision {
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patch?: unknown[];
  warnings?: string[];
}

/** An HTTP handler that decodes AdmissionReviews, asks `decide`, and answers in admission.k8s.io/v1. */
export function admissionHandler(
  decide: (request: AdmissionRequest) => AdmissionDecision | Promise<AdmissionDecision>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let body = '';
    for await (const chunk of req) body += (chunk as Buffer).toString();
    const review = JSON.parse(body) as { request: AdmissionRequest };
    const { patch, ...decision } = await decide(review.request);
    const response = {
      uid: review.request.uid,
      ...decision,
      ...(patch ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}),
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
  };
}

const clients = new WeakMap<ControlPlane, KubeClient>();
const clientOf = (cp: ControlPlane): KubeClient => {
  let client = clients.get(cp);
  if (!client) clients.set(cp, (client = cp.client('argus-testbed/webhooks')));
  return client;
};

export interface WebhookRegistration {
  type: 'validating' | 'mutating';
  /** Name of the configuration object. */
  name: string;
  /** Name of the webhook in it (three or more DNS labels); default `<name>.testbed.argus.dev`. */
  webhookName?: string;
  /** Port of the webhook server on 127.0.0.1. */
  port: number;
  /** URL path; default '/'. */
  path?: string;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caBundle: string;
  rules: V1RuleWithOperations[];
  /** Default 'Fail'. */
  failurePolicy?: 'Fail' | 'Ignore';
  /** Default 5. */
  timeoutSeconds?: number;
  namespaceSelector?: V1LabelSelector;
  objectSelector?: V1LabelSelector;
}

export interface RegisteredWebhook {
  name: string;
  webhookName: string;
  /** Deletes the configuration and waits until kube-apiserver no longer calls its webhooks. */
  remove(): Promise<void>;
}

// Every configuration registered here carries one extra "probe" webhook, which only matches dry-run
// ConfigMaps labelled with this key and the configuration's name, and calls a port where nothing listens,
// with failurePolicy Fail. kube-apiserver loads each configuration object as a whole from its informer, so
// once a probe request fails with the probe's name, the webhooks under test are in force too; once it
// succeeds again after deletion, they are gone. Other webhooks registered here never see probe objects.
const PROBE_LABEL = 'testbed.argus.dev/webhook-probe';
const PROBE_NAMESPACE = 'default';
const UNREACHABLE = 'https://127.0.0.1:1/';

/**
 * Creates a Validating- or MutatingWebhookConfiguration calling `https://127.0.0.1:<port><path>` and waits
 * until kube-apiserver applies it (see the probe above): a request made after this resolves reaches it.
 */
export async function registerWebhook(cp: ControlPlane, options: WebhookRegistration): Promise<RegisteredWebhook> {
  const client = clientOf(cp);
  const rt =
    options.type === 'validating' ? Resources.validatingWebhookConfigurations : Resources.mutatingWebhookConfigurations;
  const webhookName = options.webhookName ?? `${options.name}.testbed.argus.dev`;
  const probeName = `probe.${webhookName}`;
  const common = {
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
  };
  const webhook: V1ValidatingWebhook & V1MutatingWebhook = {
    ...common,
    name: webhookName,
    clientConfig: {
      url: `https://127.0.0.1:${options.port}${options.path ?? '/'}`,
      caBundle: Buffer.from(options.caBundle).toString('base64'),
    },
    rules: options.rules,
    failurePolicy: options.failurePolicy ?? 'Fail',
    timeoutSeconds: options.timeoutSeconds ?? 5,
    ...(options.namespaceSelector ? { namespaceSelector: options.namespaceSelector } : {}),
    objectSelector: {
      ...options.objectSelector,
      matchExpressions: [
        ...(options.objectSelector?.matchExpressions ?? []),
        { key: PROBE_LABEL, operator: 'DoesNotExist' },
      ],
    },
  };
  const probe: V1ValidatingWebhook & V1MutatingWebhook = {
    ...common,
    name: probeName,
    clientConfig: { url: UNREACHABLE },
    rules: [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' },
    ],
    failurePolicy: 'Fail',
    timeoutSeconds: 2,
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': PROBE_NAMESPACE } },
    objectSelector: { matchLabels: { [PROBE_LABEL]: options.name } },
  };
  await client.create(rt, { metadata: { name: options.name }, webhooks: [probe, webhook] });

  // Whether kube-apiserver currently calls the webhooks of this configuration.
  const inForce = async (): Promise<boolean> => {
    try {
      await client.create(
        Resources.configMaps,
        {
          metadata: {
            generateName: 'webhook-probe-',
            namespace: PROBE_NAMESPACE,
            labels: { [PROBE_LABEL]: options.name },
          },
        },
        { dryRun: true },
      );
      return false;
    } catch (err) {
      if (err instanceof ApiError && err.status.message?.includes(`"${probeName}"`)) return true;
      throw err;
    }
  };
  await waitFor(`${options.type} webhook configuration ${options.name} to be in force`, inForce, { timeoutMs: 30_000 });

  return {
    name: options.name,
    webhookName,
    async remove() {
      await client.deleteIfExists(rt, options.name);
      await waitFor(
        `${options.type} webhook configuration ${options.name} to be out of force`,
        async () => !(await inForce()),
        {
          timeoutMs: 30_000,
        },
      );
    },
  };
}
