// `argus debug`: diagnostics for the environment a role runs in (credentials, mounted files).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KubeClient } from '../kube/client.ts';

interface SelfSubjectReview {
  status?: { userInfo?: { username?: string; groups?: string[] } };
}

export function registerDebug(program: Command): void {
  const debug = program.command('debug').description('diagnose the environment Argus runs in');

  debug
    .command('whoami')
    .description('print the user the API server sees for the current credentials')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .action(async (options: { kubeconfig?: string; context?: string }) => {
      const client = KubeClient.fromOptions(options);
      try {
        const review = await client.request<SelfSubjectReview>(
          'POST',
          '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
        );
        const user = review.status?.userInfo;
        process.stdout.write(`${JSON.stringify({ username: user?.username, groups: user?.groups ?? [] })}\n`);
      } finally {
        await client.close();
      }
    });

  debug
    .command('cat')
    .description('print files as the process sees them (checks mounted volumes)')
    .argument('<paths...>')
    .action((paths: string[]) => {
      for (const path of paths) process.stdout.write(readFileSync(path, 'utf8'));
    });

  // Hidden: a long-running workload for tests of pod lifecycles (deletion, deadlines, agent shutdown).
  debug
    .command('sleep', { hidden: true })
    .description('sleep for <seconds>; exit 0 at once on SIGTERM')
    .argument('<seconds>')
    .action(async (seconds: string) => {
      const ms = Number(seconds) * 1000;
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`invalid number of seconds: ${seconds}`);
      process.stdout.write(`sleeping ${seconds} s\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        process.once('SIGTERM', () => {
          clearTimeout(timer);
          process.stdout.write('terminated\n');
          resolve();
        });
      });
    });
}
