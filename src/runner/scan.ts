// The scanner of a ComplianceScan Job (container `diki-scan`, docs/adr/0016-compliance-operator.md): reads the
// configuration the operator generated, scans the target and writes the diki report for the exporter.
import { readFile } from 'node:fs/promises';
import type { ScanConfig } from '../scanner/engine/config.ts';
import { readConfigText } from '../scanner/engine/config.ts';
import { outputFormats } from '../scanner/report/formats.ts';
import type { Report } from '../scanner/report/report.ts';
import { scan } from '../scanner/scanner.ts';
import type { Logger } from '../util/log.ts';
import { errorMessage } from '../util/log.ts';
import { writeFileAtomic } from './job.ts';

export interface ScanJobRequest {
  /** Scanner configuration in diki format (the operator's generated ConfigMap). */
  configPath: string;
  /** Where the report goes (read by the exporter). */
  outputPath: string;
  /** Target kubeconfig; default the config's managedk8s `kubeconfigPath`, then $KUBECONFIG, in-cluster. */
  kubeconfig?: string | undefined;
  log: Logger;
  signal?: AbortSignal | undefined;
}

/** The configuration file could not be read (as opposed to being invalid: a ValidationError). */
export class ConfigReadError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot read --config ${path}: ${errorMessage(cause)}`, { cause });
    this.name = 'ConfigReadError';
  }
}

/** Scans and writes the report atomically; returns it. Configuration errors are ValidationErrors. */
export async function runScanJob(request: ScanJobRequest): Promise<Report> {
  const { configPath, outputPath, log } = request;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (err) {
    throw new ConfigReadError(configPath, err);
  }
  const config = readConfigText(text, configPath) as ScanConfig;
  const started = performance.now();
  let lastLogged = 0;
  const report = await scan({
    config,
    configSource: configPath,
    kubeconfig: request.kubeconfig,
    ...(request.signal ? { signal: request.signal } : {}),
    onEvent: (event) => {
      if (event.type === 'start') {
        log.info({ rules: event.rules }, 'scan started');
        return;
      }
      // A line every 10 s at most, and the last one: progress for `kubectl logs` without a line per rule.
      const now = performance.now();
      if (event.done === event.total || now - lastLogged >= 10_000) {
        lastLogged = now;
        log.info({ done: event.done, total: event.total }, 'rules done');
      }
    },
  });
  await writeFileAtomic(outputPath, outputFormats.json.render(report));
  const rulesets = report.providers.flatMap((p) => p.rulesets.map((r) => `${r.id}@${r.version}`));
  log.info({ output: outputPath, rulesets, durationMs: Math.round(performance.now() - started) }, 'report written');
  return report;
}
