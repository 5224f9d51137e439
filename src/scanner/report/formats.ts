// Report formats for `argus scan --output FORMAT=PATH` and `argus report generate`.
import type { Report } from './report.ts';

export interface OutputFormat {
  extension: string;
  render(report: Report): string;
}

export const outputFormats = {
  json: { extension: 'json', render: (report: Report) => JSON.stringify(report) },
} satisfies Record<string, OutputFormat>;
