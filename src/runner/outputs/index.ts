// The report exporters the in-Job runner calls, one module per output type, behind exportReport(): it picks
// the exporter of the ReportOutput's type and returns the `status.outputs[].details` of the scan, or throws an
// OutputError whose reason and message go to `status.outputs[]` (docs/adr/0015-report-outputs.md).
import { outputType, type ReportOutputSpec } from '../../api/diki/reportoutput.ts';
import type { Report } from '../../scanner/report/report.ts';
import { exportConfigMap } from './configmap.ts';
import { exportPostgres } from './postgres.ts';
import { exportReportsAPI } from './reports-api.ts';
import { exportWebhook, type RetryPolicy } from './webhook.ts';
import { OutputError, type OutputContext, type OutputDetails } from './types.ts';

export { OutputError, type OutputContext, type OutputDetails } from './types.ts';

export interface ExportOptions {
  /** Retries of the webhook output (default DEFAULT_RETRY of webhook.ts). */
  webhookRetry?: RetryPolicy;
}

export async function exportReport(
  report: Report,
  spec: ReportOutputSpec,
  ctx: OutputContext,
  options: ExportOptions = {},
): Promise<OutputDetails> {
  const output = spec.output;
  const type = outputType(output);
  if (output.configMap) return exportConfigMap(report, output.configMap, ctx);
  if (output.postgresql) return exportPostgres(report, output.postgresql, ctx);
  if (output.webhook) return exportWebhook(report, output.webhook, ctx, options.webhookRetry);
  if (output.reportsAPI) return exportReportsAPI(report, output.reportsAPI, ctx);
  throw new OutputError('UnsupportedOutput', `output type ${type ?? '(none)'} is not supported by this runner`);
}
