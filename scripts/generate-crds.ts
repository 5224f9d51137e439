// `node scripts/generate-crds.ts [--check]`: writes the CRDs of the API types defined in src/api/ to
// deploy/crds/ (one file per type), or with --check exits 1 when a file differs from what would be written.
// test/unit/api/crds.test.ts runs the check, so the files never drift from the definitions.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dikiCrdFiles } from '../src/api/diki/index.ts';
import { reportCrdFiles } from '../src/api/reports/index.ts';

export const crdDir = resolve(import.meta.dirname, '..', 'deploy', 'crds');

/** Every generated CRD file: name -> contents. */
export function generatedCrds(): Map<string, string> {
  return new Map([...dikiCrdFiles(), ...reportCrdFiles()]);
}

/** Names of the files in deploy/crds/ that are missing or differ from the generated ones. */
export function staleCrdFiles(dir = crdDir): string[] {
  return [...generatedCrds()]
    .filter(([name, text]) => !existsSync(join(dir, name)) || readFileSync(join(dir, name), 'utf8') !== text)
    .map(([name]) => name);
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = staleCrdFiles();
    if (stale.length) {
      process.stderr.write(`stale CRDs in deploy/crds (run node scripts/generate-crds.ts): ${stale.join(', ')}\n`);
      process.exit(1);
    }
  } else {
    mkdirSync(crdDir, { recursive: true });
    for (const [name, text] of generatedCrds()) writeFileSync(join(crdDir, name), text);
    process.stdout.write(`wrote ${generatedCrds().size} CRDs to ${crdDir}\n`);
  }
}
