// The MutatingWebhookConfiguration and ValidatingWebhookConfiguration (both named WEBHOOK_CONFIGURATION_NAME)
// that point the target's kube-apiserver at the operator, server-side applied with the operator's field manager.
import type { KubeClient } from '../../kube/client.ts';
import { Resources, type KubeObject } from '../../kube/resources.ts';
import { DIKI_GROUP, DIKI_VERSION } from '../../api/diki/index.ts';
import { MANAGED_BY_LABEL, OPERATOR_FIELD_MANAGER, OPERATOR_MANAGER, WEBHOOK_CONFIGURATION_NAME } from '../names.ts';
import { MUTATE_PATH, VALIDATE_PATH } from './server.ts';

export const MUTATING_WEBHOOK_NAME = 'mutate.diki.gardener.cloud';
export const VALIDATING_WEBHOOK_NAME = 'validate.diki.gardener.cloud';
export const WEBHOOK_TIMEOUT_SECONDS = 10;
export const WEBHOOK_RESOURCES = ['compliancescans', 'scheduledcompliancescans', 'reportoutputs'];

/** How kube-apiserver reaches the operator: a base URL (paths appended) or a Service. */
export type WebhookEndpoint =
  { url: string } | { service: { namespace: string; name: string; /** Default 443. */ port?: number } };

interface WebhookConfiguration extends KubeObject {
  webhooks: Record<string, unknown>[];
}

function clientConfig(endpoint: WebhookEndpoint, path: string, caBundle: string): Record<string, unknown> {
  const ca = Buffer.from(caBundle).toString('base64');
  if ('url' in endpoint) return { url: `${endpoint.url.replace(/\/+$/, '')}${path}`, caBundle: ca };
  const { namespace, name, port } = endpoint.service;
  return { service: { namespace, name, port: port ?? 443, path }, caBundle: ca };
}

/** Both configurations: [mutating, validating]. */
export function webhookConfigurations(
  endpoint: WebhookEndpoint,
  caBundle: string,
  name = WEBHOOK_CONFIGURATION_NAME,
): [WebhookConfiguration, WebhookConfiguration] {
  const webhook = (webhookName: string, path: string) => ({
    name: webhookName,
    clientConfig: clientConfig(endpoint, path, caBundle),
    rules: [
      {
        apiGroups: [DIKI_GROUP],
        apiVersions: [DIKI_VERSION],
        operations: ['CREATE', 'UPDATE'],
        resources: WEBHOOK_RESOURCES,
        scope: 'Cluster',
      },
    ],
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
  });
  const metadata = { name, labels: { [MANAGED_BY_LABEL]: OPERATOR_MANAGER } };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata,
      webhooks: [{ ...webhook(MUTATING_WEBHOOK_NAME, MUTATE_PATH), reinvocationPolicy: 'Never' }],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata,
      webhooks: [webhook(VALIDATING_WEBHOOK_NAME, VALIDATE_PATH)],
    },
  ];
}

/** Server-side applies both configurations on the target (the mutating one first). */
export async function applyWebhookConfigurations(
  client: KubeClient,
  endpoint: WebhookEndpoint,
  caBundle: string,
  name = WEBHOOK_CONFIGURATION_NAME,
): Promise<void> {
  const [mutating, validating] = webhookConfigurations(endpoint, caBundle, name);
  const options = { fieldManager: OPERATOR_FIELD_MANAGER, force: true };
  await client.apply(Resources.mutatingWebhookConfigurations, mutating, options);
  await client.apply(Resources.validatingWebhookConfigurations, validating, options);
}
