// The configMap output (GEP-0063): the report JSON gzipped into `binaryData["report.json.gz"]` of the ConfigMap
// `<namePrefix><scan name>` in the output's namespace, labelled with the scan. Written by server-side apply
// (field manager argus-runner, forced), so a second export of the same scan replaces the first. A report
// that does not fit into one object (1 MiB, the API server's limit of ConfigMap data) fails the output with
// both sizes named: a truncated report would look complete.
import { gzipSync } from 'node:zlib';
import {
  DEFAULT_CONFIGMAP_NAMESPACE,
  DEFAULT_CONFIGMAP_NAME_PREFIX,
  type ReportOutputSpec,
} from '../../api/diki/reportoutput.ts';
import { Resources } from '../../kube/resources.ts';
import type { Report } from '../../scanner/report/report.ts';
import {
  FIELD_MANAGER,
  OutputError,
  errorMessage,
  scanLabels,
  type OutputContext,
  type OutputDetails,
} from './types.ts';

export const REPORT_KEY = 'report.json.gz';
/** kube-apiserver rejects ConfigMaps whose data exceeds 1 MiB (and etcd objects beyond ~1.5 MiB). */
export const CONFIGMAP_SIZE_LIMIT = 1024 * 1024;

type ConfigMapOutput = NonNullable<ReportOutputSpec['output']['configMap']>;

const nameRe = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB (${bytes} bytes)`;

export async function exportConfigMap(
  report: Report,
  output: ConfigMapOutput,
  ctx: OutputContext,
): Promise<OutputDetails> {
  const namespace = output.namespace || DEFAULT_CONFIGMAP_NAMESPACE;
  const name = (output.namePrefix ?? DEFAULT_CONFIGMAP_NAME_PREFIX) + ctx.scanName;
  if (name.length > 253 || !nameRe.test(name))
    throw new OutputError('InvalidName', `ConfigMap name ${JSON.stringify(name)} is not a valid object name`);
  const gz = gzipSync(JSON.stringify(report));
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      labels: scanLabels(ctx),
      annotations: { 'compliancescan.diki.gardener.cloud/name': ctx.scanName },
    },
    binaryData: { [REPORT_KEY]: gz.toString('base64') },
  };
  // The limit counts the data bytes; the rest of the object adds to what etcd stores, so count it too.
  const size = gz.length + Buffer.byteLength(JSON.stringify({ ...configMap, binaryData: {} }));
  if (size > CONFIGMAP_SIZE_LIMIT)
    throw new OutputError(
      'ReportTooLarge',
      `the gzipped report and its ConfigMap are ${mib(size)}, over the ConfigMap limit of ${mib(CONFIGMAP_SIZE_LIMIT)}; ` +
        'use a postgresql, webhook or reportsAPI output for reports of this size',
    );
  try {
    await ctx.client.apply(Resources.configMaps, configMap, { fieldManager: FIELD_MANAGER, force: true });
  } catch (err) {
    throw new OutputError('ConfigMapWriteFailed', `writing ConfigMap ${namespace}/${name}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return { configMapRef: { name, namespace } };
}
