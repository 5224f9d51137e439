// The output-format registry used by `argus scan --output` and `argus report generate`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { isOutputFormat, outputFormats } from '../../../../src/scanner/report/formats.ts';
import { parseReport } from '../../../../src/scanner/report/report.ts';
import { sampleReport } from '../../../support/sample-report.ts';

describe('output formats', () => {
  const report = sampleReport();

  test('offers the six formats with their extensions', () => {
    assert.deepEqual(Object.keys(outputFormats).sort(), ['html', 'json', 'junit', 'oscal', 'policyreport', 'sarif']);
    assert.deepEqual(Object.fromEntries(Object.entries(outputFormats).map(([k, v]) => [k, v.extension])), {
      json: 'json',
      html: 'html',
      sarif: 'sarif',
      junit: 'xml',
      policyreport: 'yaml',
      oscal: 'json',
    });
    assert.ok(isOutputFormat('sarif'));
    assert.ok(!isOutputFormat('pdf'));
    assert.ok(!isOutputFormat('toString'));
  });

  test('every format renders the report', () => {
    assert.deepEqual(parseReport(JSON.parse(outputFormats.json.render(report))), report);
    assert.ok(outputFormats.html.render(report).startsWith('<!doctype html>'));
    assert.equal((JSON.parse(outputFormats.sarif.render(report)) as { version: string }).version, '2.1.0');
    assert.ok(outputFormats.junit.render(report).startsWith('<?xml'));
    assert.equal((parse(outputFormats.policyreport.render(report)) as { kind: string }).kind, 'List');
    assert.ok('assessment-results' in (JSON.parse(outputFormats.oscal.render(report)) as object));
  });
});
