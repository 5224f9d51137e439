// The HTML report in a real browser (headless Chromium through playwright-core): the summary is visible,
// status filters and search hide and show the right rules, expanding a rule shows its targets, nothing
// overflows at desktop and phone widths, print shows every rule expanded, and the page logs no errors.
// Screenshots go to the test's temp dir (kept with ARGUS_KEEP_SCREENSHOTS=1).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderDiffHtml, diffReports } from '../../src/scanner/report/diff.ts';
import { renderHtml } from '../../src/scanner/report/html.ts';
import { mergeReports, renderMergedHtml } from '../../src/scanner/report/merge.ts';
import { cloneReport, sampleReport } from '../support/sample-report.ts';

const chromiumPath = process.env.ARGUS_CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'argus-html-report-'));
const report = sampleReport();
const ruleCount = report.providers[0]!.rulesets.reduce((n, rs) => n + rs.rules.length, 0);
const files = {
  report: join(dir, 'report.html'),
  diff: join(dir, 'diff.html'),
  merged: join(dir, 'merged.html'),
};

let browser: Browser;
before(async () => {
  assert.ok(
    existsSync(chromiumPath),
    `no Chromium at ${chromiumPath} (Debian package "chromium"; .ci/run installs it)`,
  );
  writeFileSync(files.report, renderHtml(report));
  const next = cloneReport(report);
  next.providers[0]!.rulesets[0]!.rules[3]!.checks[1]!.status = 'Passed';
  next.providers[0]!.rulesets[1]!.rules[1]!.checks[0]!.targets!.splice(0, 4);
  writeFileSync(files.diff, renderDiffHtml(diffReports(report, next)));
  next.metadata = { cluster: 'dev-eu1' };
  writeFileSync(files.merged, renderMergedHtml(mergeReports([report, next], 'cluster')));
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  if (process.env.ARGUS_KEEP_SCREENSHOTS) process.stderr.write(`screenshots kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
});

/** Opens a page and collects everything the page logs as an error. */
async function open(
  file: string,
  width: number,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(file).href);
  return { page, errors };
}

const rule = (page: Page, id: string) => page.locator(`article.item[data-rule="${id}"]`);
// Page-side code as strings: the project's TypeScript has no DOM types.
const visibleRules = (page: Page): Promise<string[]> =>
  page.evaluate<string[]>(
    "[...document.querySelectorAll('article.item')].filter((e) => e.offsetParent !== null).map((e) => e.getAttribute('data-rule'))",
  );
/** Waits (the search is debounced) until exactly `expected` rules show, then asserts it. */
async function expectRules(page: Page, expected: string[]): Promise<void> {
  const deadline = Date.now() + 3000;
  let shown = await visibleRules(page);
  while (JSON.stringify(shown) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    shown = await visibleRules(page);
  }
  assert.deepEqual(shown, expected);
}
const overflow = (page: Page): Promise<number> =>
  page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(dir, name);
  await page.screenshot({ path, fullPage: true });
  assert.ok(statSync(path).size > 30_000, `${name} is a real picture`);
}

describe('HTML report in Chromium', () => {
  test('shows the summary at a glance', async () => {
    const { page, errors } = await open(files.report, 1280);
    await assert.doesNotReject(page.locator('h1', { hasText: 'prod-eu1' }).waitFor({ state: 'visible' }));
    const failedTile = page.locator('[data-tile="Failed"]');
    assert.ok(await failedTile.isVisible());
    assert.equal(await failedTile.locator('.n').textContent(), '7');
    assert.match((await failedTile.textContent()) ?? '', /161 findings/);
    const disa = page.locator('.card[data-ruleset="disa-kubernetes-stig"]');
    assert.ok(await disa.locator('.bar').isVisible());
    assert.match((await disa.locator('table.counts').innerText()).replace(/\s+/g, ' '), /Failed 3 127/);
    assert.equal(await page.locator('#count').textContent(), `Showing all ${ruleCount} rules`);
    assert.equal((await visibleRules(page)).length, ruleCount);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('status and severity filters hide and show the right rules', async () => {
    const { page, errors } = await open(files.report, 1280);
    await page.getByRole('button', { name: 'Problems only' }).click();
    let shown = await visibleRules(page);
    assert.ok(shown.includes('242383') && shown.includes('242391') && shown.includes('2005'));
    assert.ok(!shown.includes('242387') && !shown.includes('242376') && !shown.includes('PSS-B001'));
    assert.equal(shown.length, 11); // 7 failed, 1 errored, 3 warning
    // Within a shown rule only the matching checks remain.
    assert.equal(await rule(page, '242383').locator('.check[data-status="Accepted"]').count(), 1);
    assert.ok(
      (await rule(page, '242383').locator('.check[data-status="Accepted"]').getAttribute('class'))?.includes('hidden'),
    );

    await page.getByRole('button', { name: 'Reset' }).click();
    await page.locator('.chip[data-filter="status"][data-value="Failed"]').click();
    assert.equal(await page.locator('.chip[data-value="Failed"]').getAttribute('aria-pressed'), 'false');
    shown = await visibleRules(page);
    assert.ok(!shown.includes('2008'), 'a rule with only Failed checks is hidden');
    assert.ok(shown.includes('242383'), 'a rule that also has an Accepted check stays');

    await page.getByRole('button', { name: 'Reset' }).click();
    for (const s of ['High', 'Medium']) await page.locator(`.chip[data-filter="severity"][data-value="${s}"]`).click();
    assert.deepEqual((await visibleRules(page)).sort(), ['PSS-R001', 'PSS-R004']);
    assert.match((await page.locator('#count').textContent()) ?? '', new RegExp(`Showing 2 of ${ruleCount} rules`));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('search matches rule ids, names, messages and targets', async () => {
    const { page, errors } = await open(files.report, 1280);
    const search = page.getByRole('searchbox', { name: /search/i });
    await search.fill('242415');
    await expectRules(page, ['242415']);

    await search.fill('privilege escalation');
    await expectRules(page, ['2001']);

    await search.fill('node-exporter');
    await expectRules(page, ['2001', '2008']);

    // A target value: the rule shows, and only the matching rows of its table.
    await search.fill('DB_PASSWORD_77');
    await expectRules(page, ['242415']);
    await rule(page, '242415').locator('.toggle').click();
    const rows = rule(page, '242415').locator('.check[data-status="Failed"] tbody tr:not(.hidden)');
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? '', /DB_PASSWORD_77/);

    await search.fill('no such thing anywhere');
    await expectRules(page, []);
    assert.ok(await page.locator('section.ruleset .empty', { hasText: 'No rules match' }).first().isVisible());
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('expanding a rule shows its checks and targets; collapse and expand all', async () => {
    const { page, errors } = await open(files.report, 1280);
    const r = rule(page, '242415');
    const body = r.locator('.item-body');
    assert.equal(await body.isVisible(), false);
    await r.locator('.toggle').click();
    assert.equal(await r.locator('.toggle').getAttribute('aria-expanded'), 'true');
    assert.ok(await body.isVisible());
    const table = r.locator('.check[data-status="Failed"] .targets table');
    assert.ok(await table.isVisible());
    assert.equal(await table.locator('tbody tr').count(), 121);
    assert.deepEqual(await table.locator('thead th').allTextContents(), [
      'kind',
      'namespace',
      'name',
      'container',
      'details',
    ]);
    // The escaped target reads as text.
    assert.ok((await table.innerText()).includes('<script>alert("x&y")</script>'));
    await r.locator('.toggle').click();
    assert.equal(await body.isVisible(), false);

    await page.getByRole('button', { name: 'Expand all' }).click();
    assert.equal(await page.locator('.item-body:visible').count(), ruleCount);
    await page.getByRole('button', { name: 'Collapse all' }).click();
    assert.equal(await page.locator('.item-body:visible').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('fits 1280 px and 390 px without horizontal overflow, light and dark; screenshots', async () => {
    for (const [width, scheme] of [
      [1280, 'light'],
      [390, 'light'],
      [1280, 'dark'],
      [390, 'dark'],
    ] as const) {
      const { page, errors } = await open(files.report, width, scheme);
      await rule(page, '242415').locator('.toggle').click();
      await rule(page, '242383').locator('.toggle').click();
      assert.equal(await overflow(page), 0, `no horizontal overflow at ${width} px`);
      await screenshot(page, `report-${width}-${scheme}.png`);
      assert.deepEqual(errors, []);
      await page.close();
    }
  });

  test('print shows every rule expanded and no controls', async () => {
    const { page, errors } = await open(files.report, 1280);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.item-body:visible').count(), ruleCount);
    assert.equal(await page.locator('.toolbar').isVisible(), false);
    await page.pdf({ path: join(dir, 'report.pdf') });
    assert.ok(statSync(join(dir, 'report.pdf')).size > 20_000);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('works with scripts off: everything readable', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(pathToFileURL(files.report).href);
    assert.equal(await page.locator('.item-body:visible').count(), ruleCount);
    await context.close();
  });

  test('the diff and merged pages render, filter and fit too', async () => {
    for (const [file, name] of [
      [files.diff, 'diff'],
      [files.merged, 'merged'],
    ] as const) {
      for (const width of [1280, 390]) {
        const { page, errors } = await open(file, width);
        const first = page.locator('article.item').first();
        await first.locator('.toggle').click();
        assert.ok(await first.locator('.item-body').isVisible());
        assert.equal(await overflow(page), 0, `${name} fits ${width} px`);
        await screenshot(page, `${name}-${width}.png`);
        assert.deepEqual(errors, []);
        await page.close();
      }
    }
    const { page } = await open(files.diff, 1280);
    assert.equal(await page.locator('[data-tile="removed"] .n').textContent(), '7');
    assert.equal(await page.locator('[data-tile="added"] .n').textContent(), '3');
    for (const s of ['Failed', 'Errored']) await page.locator(`.chip[data-filter="status"][data-value="${s}"]`).click();
    assert.deepEqual(await visibleRules(page), ['242391']);
    await page.close();
  });
});
