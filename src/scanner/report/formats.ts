// Report formats for `argus scan --output FORMAT=PATH` and `argus report generate --format FORMAT`.
import { renderHtml } from './html.ts';
import { renderJUnit } from './junit.ts';
import { renderOscal } from './oscal.ts';
import { renderPolicyReports } from './policyreport.ts';
import type { Report } from './report.ts';
import { renderSarif } from './sarif.ts';

export interface OutputFormat {
  /** The usual file extension, without the dot. */
  extension: string;
  render(report: Report): string;
}

export type OutputFormatName = 'json' | 'html' | 'sarif' | 'junit' | 'policyreport' | 'oscal';

export const outputFormats: Record<OutputFormatName, OutputFormat> = {
  /** diki's report JSON. */
  json: { extension: 'json', render: (report) => JSON.stringify(report) },
  /** A self-contained page: summary, filters, search, every check and target. */
  html: { extension: 'html', render: renderHtml },
  /** SARIF 2.1.0 for code-scanning tools. */
  sarif: { extension: 'sarif', render: renderSarif },
  /** JUnit XML for CI test views. */
  junit: { extension: 'xml', render: renderJUnit },
  /** wgpolicyk8s.io/v1alpha2 PolicyReports and a ClusterPolicyReport as a YAML `List`. */
  policyreport: { extension: 'yaml', render: renderPolicyReports },
  /** OSCAL Assessment Results JSON. */
  oscal: { extension: 'json', render: renderOscal },
};

export function isOutputFormat(name: string): name is OutputFormatName {
  return Object.hasOwn(outputFormats, name);
}
