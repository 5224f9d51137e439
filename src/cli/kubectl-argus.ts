#!/usr/bin/env node
// `kubectl argus` (kubectl-argus on PATH): analytics of the reports API through kubectl's credentials.
//   kubectl argus reports summary [-n NS | -A]                counts by namespace, policy, severity and result
//   kubectl argus reports query --result fail --severity high,critical [--policy P] [-n NS | -A] [--limit N]
// Served by the reports server's reports.argus.io/v1alpha1 (results, summaries), authorised like any request:
// rows only from reports the caller may list.
import { Command, CommanderError } from 'commander';
import { KubeClient } from '../kube/client.ts';
import { errorMessage } from '../util/log.ts';

interface Flags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  output: string;
}

/** Columns aligned as kubectl prints them (upper-case headers, three spaces between columns). */
export function formatTable(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === '' ? '<none>' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

async function get<T>(flags: Flags, resource: string, query: Record<string, string | undefined>): Promise<T> {
  const client = KubeClient.fromOptions({
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    userAgent: 'kubectl-argus',
  });
  try {
    const scope = flags.allNamespaces || !flags.namespace ? '' : `/namespaces/${encodeURIComponent(flags.namespace)}`;
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => !!e[1]));
    const qs = params.toString();
    return await client.request<T>('GET', `/apis/reports.argus.io/v1alpha1${scope}/${resource}${qs ? `?${qs}` : ''}`);
  } finally {
    await client.close();
  }
}

const common = (command: Command): Command =>
  command
    .option('--kubeconfig <path>', 'kubeconfig file')
    .option('--context <name>', 'kubeconfig context')
    .option('-n, --namespace <name>', 'only this namespace')
    .option('-A, --all-namespaces', 'every namespace you may read (default)')
    .option('-o, --output <format>', 'table or json', 'table');

const program = new Command('kubectl-argus').description('Argus for kubectl').exitOverride();
const reports = program.command('reports').description('analytics of PolicyReports and Reports');

common(reports.command('summary').description('counts of results by namespace, policy, severity and result')).action(
  async (flags: Flags) => {
    const list = await get<{
      items: { namespace: string; policy: string; severity: string | null; result: string | null; count: number }[];
    }>(flags, 'summaries', {});
    if (flags.output === 'json') return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    process.stdout.write(
      formatTable(
        ['NAMESPACE', 'POLICY', 'SEVERITY', 'RESULT', 'COUNT'],
        list.items.map((r) => [r.namespace, r.policy, r.severity, r.result, r.count]),
      ),
    );
  },
);

common(reports.command('query').description('results matching filters, cluster-wide or in one namespace'))
  .option('--result <values>', 'pass,fail,warn,error,skip (comma-separated)')
  .option('--severity <values>', 'critical,high,medium,low,info (comma-separated)')
  .option('--policy <names>', 'policies (comma-separated)')
  .option('--limit <n>', 'at most this many rows', '1000')
  .action(async (flags: Flags & { result?: string; severity?: string; policy?: string; limit: string }) => {
    const list = await get<{
      items: {
        namespace: string;
        report: string;
        policy: string;
        rule: string | null;
        severity: string | null;
        result: string | null;
        resource: string | null;
        message: string | null;
      }[];
    }>(flags, 'results', { result: flags.result, severity: flags.severity, policy: flags.policy, limit: flags.limit });
    if (flags.output === 'json') return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    process.stdout.write(
      formatTable(
        ['NAMESPACE', 'REPORT', 'POLICY', 'RULE', 'SEVERITY', 'RESULT', 'RESOURCE', 'MESSAGE'],
        list.items.map((r) => [r.namespace, r.report, r.policy, r.rule, r.severity, r.result, r.resource, r.message]),
      ),
    );
  });

if (process.argv[1] && import.meta.filename === (await import('node:fs')).realpathSync(process.argv[1])) {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exitCode = err.exitCode;
    else {
      process.stderr.write(`kubectl argus: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    }
  }
}
