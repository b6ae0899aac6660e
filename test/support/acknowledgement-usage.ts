/**
 * Which cdk-nag acknowledgements and checkov skips of an app match a finding. cdk-nag asks a pack's
 * `isAcknowledged(resource, ruleId)` once per finding, walking from the resource up its constructs; wrapping it
 * records which acknowledgement (construct path and id) answered, and counts every finding, acknowledged or not.
 * checkov does not evaluate a check it skips, so the skips are matched by running it on copies of the templates
 * with the skips taken out.
 */
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { NAG_PACKS } from '../../lib/nag-packs';
import { runCheckov } from './compliance';

/** One cdk-nag acknowledgement: the construct it is made on and the finding id. */
export interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** One checkov skip: the template file, the resource's logical id and construct path, the check. */
export interface CheckovSkip {
  readonly file: string;
  readonly logicalId: string;
  readonly path: string;
  readonly checkId: string;
  readonly reason: string;
}

const key = (p: string, id: string) => `${p}\u0000${id}`;

/** Every cdk-nag acknowledgement made in the app. */
export function acknowledgementsOf(root: IConstruct): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
        out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
    }
  }
  // The same acknowledgement made twice on one construct (e.g. before and after references are prepared) is one.
  return [...new Map(out.map((a) => [key(a.path, a.id), a])).values()];
}

/** What the four packs found in one run over an app. */
export interface NagUsage {
  /** `path\0id` of every acknowledgement that answered a finding. */
  readonly used: Set<string>;
  /** pack name -> findings before acknowledgements ("rule at resource path"). */
  readonly findings: Map<string, Set<string>>;
  /** pack name -> findings no acknowledgement covered. */
  readonly unacknowledged: Map<string, Set<string>>;
}

/** An empty usage record, to merge runs into. */
export function emptyNagUsage(): NagUsage {
  return { used: new Set(), findings: new Map(), unacknowledged: new Map() };
}

/** Runs every pack over `app` (as it stands: prepared or not), adding what it found to `into`. */
export function recordNagUsage(app: App, into: NagUsage = emptyNagUsage()): NagUsage {
  for (const pack of NAG_PACKS()) {
    const name = pack.readPackName;
    const found = into.findings.get(name) ?? new Set<string>();
    const open = into.unacknowledged.get(name) ?? new Set<string>();
    // isAcknowledged is private in cdk-nag's typings; the wrapper keeps its logic (cdk-nag 3.0 nag-pack.js) and records the answer.
    (pack as unknown as { isAcknowledged: (r: CfnResource, id: string) => boolean }).isAcknowledged = (resource, ruleId) => {
      const finding = `${ruleId} at ${resource.node.path}`;
      found.add(finding);
      for (let c: IConstruct | undefined = resource; c; c = c.node.scope) {
        for (const entry of c.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
          if (Object.keys(entry.data as object).some((k) => k.replace(/^annotation::/i, '') === ruleId)) {
            into.used.add(key(c.node.path, ruleId));
            return true;
          }
        }
      }
      open.add(finding);
      return false;
    };
    pack.validateScope(app);
    into.findings.set(name, found);
    into.unacknowledged.set(name, open);
  }
  return into;
}

/** Whether `ack` answered a finding in any of the recorded runs. */
export function isUsed(ack: Acknowledgement, usage: NagUsage): boolean {
  return usage.used.has(key(ack.path, ack.id));
}

/** Every checkov skip in the synthesized templates of `app` (after `app.synth()`), with its construct path. */
export function checkovSkipsOf(app: App): CheckovSkip[] {
  const paths = new Map<string, string>();
  for (const c of app.node.findAll())
    if (CfnResource.isCfnResource(c)) paths.set(`${Stack.of(c).stackName}.${Stack.of(c).resolve(c.logicalId)}`, c.node.path);
  const out: CheckovSkip[] = [];
  for (const artifact of app.synth().stacks) {
    for (const [logicalId, r] of Object.entries(
      (artifact.template.Resources ?? {}) as Record<string, { Metadata?: { checkov?: { skip?: { id: string; comment: string }[] } } }>,
    )) {
      for (const s of r.Metadata?.checkov?.skip ?? []) {
        out.push({
          file: path.basename(artifact.templateFullPath),
          logicalId,
          path: paths.get(`${artifact.stackName}.${logicalId}`) ?? logicalId,
          checkId: s.id,
          reason: s.comment,
        });
      }
    }
  }
  return out;
}

/** The checks checkov fails on the app's templates with every skip taken out, as `file|logicalId|checkId`. */
export function checkovFindingsWithoutSkips(app: App): Set<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkov-unskipped-'));
  try {
    const files = app.synth().stacks.map((artifact) => {
      const template = JSON.parse(JSON.stringify(artifact.template)) as {
        Resources?: Record<string, { Metadata?: Record<string, unknown> }>;
      };
      for (const r of Object.values(template.Resources ?? {})) if (r.Metadata) delete r.Metadata.checkov;
      const file = path.join(dir, path.basename(artifact.templateFullPath));
      fs.writeFileSync(file, JSON.stringify(template));
      return file;
    });
    return new Set(runCheckov(files).failed.map((f) => `${f.file}|${f.resource.slice(f.resource.indexOf('.') + 1)}|${f.checkId}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
