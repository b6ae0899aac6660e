/**
 * Prints docs/security.md's table of accepted findings: every cdk-nag acknowledgement and checkov skip the
 * constructs make on the default app, with where and why, so the page never disagrees with the code (a jest test
 * compares them). `npm run docs:security` rewrites the table in docs/security.md.
 */
import { App, CfnResource, Validations } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { IConstruct } from 'constructs';
import * as fs from 'fs';
import * as path from 'path';

import { loadConfig } from '../lib/config';
import { buildPlatform } from '../lib/platform';

const BEGIN = '<!-- accepted-findings:begin -->';
const END = '<!-- accepted-findings:end -->';
/** The page that holds the accepted-findings table. */
export const SECURITY_DOC = path.join(__dirname, '..', 'docs', 'security.md');

/** One acknowledged finding or skipped check. */
export interface Acceptance {
  /** cdk-nag finding id (`NIST.800.53.R5-LambdaDLQ`) or `checkov CKV_AWS_116`. */
  readonly id: string;
  /** The construct it is made on, without the stack prefix. */
  readonly where: string;
  readonly reason: string;
}

/**
 * Job names end in 16 hex digits of their inputs (the image among them), so any edit to training-image/ renames
 * them; the table shows the name's pattern instead, so it changes only when an acknowledgement does.
 */
function stableJobNames(id: string): string {
  return id.replace(/(-training(?:-prepare|-evaluate)?)-[0-9a-f]{16}\b/g, '$1-<hash>');
}

/** Every acknowledgement and checkov skip under `root`. */
export function acceptancesOf(root: IConstruct): Acceptance[] {
  const out: Acceptance[] = [];
  for (const c of root.node.findAll()) {
    const where = c.node.path.replace(/^[^/]*?-/, '');
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ id: stableJobNames(key.replace(/^annotation::/i, '')), where, reason });
      }
    }
    if (CfnResource.isCfnResource(c)) {
      const skips = (c.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)?.skip ?? [];
      for (const s of skips) out.push({ id: `checkov ${s.id}`, where: where.replace(/\/Resource$/, ''), reason: s.comment });
    }
  }
  return out;
}

/** The platform as `cdk synth` builds it with the default settings (no Lambda bundling needed). */
export function defaultApp(): App {
  const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;
  const app = new App({ context: { ...context, [cxapi.BUNDLING_STACKS]: [] } });
  buildPlatform(app, loadConfig(app.node));
  return app;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown table: one row per reason, with the findings and the places it covers. */
export function acceptedFindingsTable(acceptances: Acceptance[]): string {
  const byReason = new Map<string, { ids: Set<string>; where: Set<string> }>();
  for (const a of acceptances) {
    const row = byReason.get(a.reason) ?? { ids: new Set(), where: new Set() };
    row.ids.add(a.id);
    row.where.add(a.where);
    byReason.set(a.reason, row);
  }
  const rows = [...byReason.entries()]
    .map(([reason, r]) => ({ ids: [...r.ids].sort(), where: [...r.where].sort(), reason }))
    .sort((a, b) => a.where[0].localeCompare(b.where[0]) || a.ids[0].localeCompare(b.ids[0]));
  return [
    '| Finding | Where | Why it is accepted |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r.ids.map((id) => `\`${cell(id)}\``).join('<br>')} | ${r.where.map(cell).join('<br>')} | ${cell(r.reason)} |`),
  ].join('\n');
}

/** The page's text with the table between the markers replaced by `table`. */
export function withAcceptedFindings(page: string, table: string): string {
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/security.md lacks the ${BEGIN} ... ${END} markers`);
  return `${page.slice(0, start + BEGIN.length)}\n${table}\n${page.slice(end)}`;
}

if (require.main === module) {
  const acceptances = acceptancesOf(defaultApp());
  const page = fs.readFileSync(SECURITY_DOC, 'utf8');
  fs.writeFileSync(SECURITY_DOC, withAcceptedFindings(page, acceptedFindingsTable(acceptances)));
  console.log(`docs/security.md: ${acceptances.length} accepted findings documented`);
}
