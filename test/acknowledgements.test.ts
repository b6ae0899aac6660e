/**
 * No acknowledgement without a finding: every cdk-nag acknowledgement and every checkov skip the app makes, in
 * any tested configuration (test/support/configurations.ts), must answer a finding in at least one of them;
 * one that answers nothing would silently cover the next, different finding of the same id. cdk-nag runs on the
 * tree as built and again after synth has prepared cross-stack references (the two forms a wildcard's name
 * takes, see constructs/private/nag-acknowledgements.ts). Also prints the findings each pack and checkov would
 * report with no acknowledgement at all, and checks acknowledgements are made where docs/security.md says.
 */
import { Validations } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as fs from 'fs';
import * as path from 'path';

import {
  Acknowledgement,
  acknowledgementsOf,
  checkovFindingsWithoutSkips,
  CheckovSkip,
  checkovSkipsOf,
  emptyNagUsage,
  isUsed,
  NagUsage,
  recordNagUsage,
} from './support/acknowledgement-usage';
import { TESTED_CONFIGURATIONS } from './support/configurations';
import { buildTestPlatform, SynthesizedPlatform } from './support/platform';

const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };

interface Survey {
  readonly usage: NagUsage;
  readonly acknowledgements: Map<string, Acknowledgement & { configuration: string }>;
  readonly skips: Map<string, CheckovSkip & { configuration: string }>;
  readonly checkovFindings: Set<string>;
  /** Per configuration: findings with no acknowledgement at all after synth, per pack, and checkov's. */
  readonly totals: { configuration: string; packs: Record<string, number>; checkov: number; acknowledgements: number; skips: number }[];
}

/** Runs cdk-nag (before and after synth) and checkov (skips taken out) over each configuration. */
function survey(plant?: (built: SynthesizedPlatform) => void, withCheckov = true): Survey {
  const s: Survey = { usage: emptyNagUsage(), acknowledgements: new Map(), skips: new Map(), checkovFindings: new Set(), totals: [] };
  for (const c of TESTED_CONFIGURATIONS) {
    const built = buildTestPlatform({ ...NO_BUNDLING, ...c.overrides });
    plant?.(built);
    recordNagUsage(built.app, s.usage);
    built.app.synth();
    const after = recordNagUsage(built.app);
    for (const u of after.used) s.usage.used.add(u);
    for (const [pack, found] of after.unacknowledged) for (const f of found) s.usage.unacknowledged.get(pack)?.add(f);
    const acks = acknowledgementsOf(built.app);
    for (const a of acks)
      if (!s.acknowledgements.has(`${a.path}|${a.id}`)) s.acknowledgements.set(`${a.path}|${a.id}`, { ...a, configuration: c.name });
    if (!withCheckov) continue;
    const skips = checkovSkipsOf(built.app);
    for (const k of skips)
      if (!s.skips.has(`${k.file}|${k.logicalId}|${k.checkId}`))
        s.skips.set(`${k.file}|${k.logicalId}|${k.checkId}`, { ...k, configuration: c.name });
    const failed = checkovFindingsWithoutSkips(built.app);
    for (const f of failed) s.checkovFindings.add(f);
    s.totals.push({
      configuration: c.name,
      packs: Object.fromEntries([...after.findings].map(([p, f]) => [p, f.size])),
      checkov: failed.size,
      acknowledgements: acks.length,
      skips: skips.length,
    });
  }
  return s;
}

const unusedAcknowledgements = (s: Survey) =>
  [...s.acknowledgements.values()]
    .filter((a) => !isUsed(a, s.usage))
    .map(
      (a) =>
        `${a.path}: ${a.id} (first made with ${a.configuration}) answers no finding in any tested configuration: remove it, ` +
        'or, if it applies only under some setting, add that configuration to TESTED_CONFIGURATIONS in test/support/configurations.ts',
    );
const unusedSkips = (s: Survey) =>
  [...s.skips.entries()]
    .filter(([k]) => !s.checkovFindings.has(k))
    .map(
      ([, k]) =>
        `${k.path} (${k.file} ${k.logicalId}): checkov skip ${k.checkId} (first made with ${k.configuration}) matches no failed check in any tested configuration: remove it`,
    );

describe('acknowledgements and checkov skips', () => {
  const app = survey();

  test('every cdk-nag acknowledgement answers a finding in at least one tested configuration', () => {
    expect(app.acknowledgements.size).toBeGreaterThan(100);
    expect(unusedAcknowledgements(app)).toEqual([]);
  });

  test('every checkov skip matches a check checkov fails once the skips are taken out', () => {
    expect(app.skips.size).toBeGreaterThan(20);
    expect(unusedSkips(app)).toEqual([]);
  });

  test('no finding is left unacknowledged in any tested configuration', () => {
    expect([...app.usage.unacknowledged.values()].flatMap((f) => [...f])).toEqual([]);
    // Printed for the report: what each pack and checkov would report with nothing acknowledged or skipped.
    for (const t of app.totals) {
      process.stdout.write(
        `${t.configuration}: findings with no acknowledgement ${JSON.stringify(t.packs)}, checkov ${t.checkov}; ` +
          `${t.acknowledgements} acknowledgements, ${t.skips} checkov skips\n`,
      );
    }
  });

  test('reports an acknowledgement that answers nothing, naming the construct and the id', () => {
    const planted = survey(({ platform }) => {
      Validations.of(platform.monitoring.responder).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'a planted acknowledgement that matches no finding',
      });
    }, false);
    expect(unusedAcknowledgements(planted)).toEqual([
      expect.stringMatching(
        /^DlPlatform-Monitoring\/Responder: AwsSolutions-S1 \(first made with the default settings\) answers no finding in any tested configuration: remove it/,
      ),
    ]);
  });

  test('acknowledgements are made in the *-acknowledgements.ts files; elsewhere only a wildcard resource or action beside its grant', () => {
    const root = path.join(__dirname, '..');
    const files = ['constructs', 'lib'].flatMap((dir) =>
      (fs.readdirSync(path.join(root, dir), { recursive: true }) as string[])
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(dir, f)),
    );
    const misplaced = files
      .filter((f) => !f.endsWith('-acknowledgements.ts') && !f.startsWith(path.join('constructs', 'private')))
      .flatMap((f) =>
        fs
          .readFileSync(path.join(root, f), 'utf8')
          .split('\n')
          .map((line, i) => ({ f, line, i })),
      )
      .filter(
        ({ line }) =>
          /Validations\.of\([^)]*\)\.acknowledge|\b(acknowledge|skipCheckov|exemptFunction|acknowledgeRolePolicies)\(/.test(line) &&
          !/^\s*(\*|\/\/|import)/.test(line),
      )
      .map(({ f, i, line }) => `${f}:${i + 1}: ${line.trim()}`);
    expect(misplaced).toEqual([]);
  });
});
