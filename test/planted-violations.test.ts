/**
 * Violations planted inside the constructs that make acknowledgements, not beside them: an acknowledgement must
 * cover only what its reason names. Two plants, over every acknowledging construct the app has (found by
 * walking the tree, so constructs added later are covered too):
 * - into every role under an `AwsSolutions-IAM5[Resource::*]` acknowledgement, `dynamodb:DeleteItem` on `*`: cdk-nag
 *   stays silent (the acknowledgement names the finding id, not the action), and the wildcard-resource check
 *   (test/support/wildcard-resources.ts) must report it at that role's policy;
 * - under every acknowledging construct that is not itself a resource, a function with no dead-letter queue, VPC,
 *   tracing or reserved concurrency: each cdk-nag pack must report it.
 */
import { CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { IConstruct } from 'constructs';

import { NAG_PACKS } from '../lib/nag-packs';
import { acknowledgementsOf } from './support/acknowledgement-usage';
import { packFindings } from './support/compliance';
import { loadIamReference } from './support/iam-reference';
import { buildTestPlatform, EVERY_OPTION } from './support/platform';
import { checkWildcardResources, identityStatements } from './support/wildcard-resources';

const NO_BUNDLING = { [cxapi.BUNDLING_STACKS]: [] };
const ANY_RESOURCE = 'AwsSolutions-IAM5[Resource::*]';

const byPath = (root: IConstruct, p: string): IConstruct => root.node.findAll().find((c) => c.node.path === p)!;

describe('violations planted inside acknowledging constructs', () => {
  test('dynamodb:DeleteItem on * planted into each role under a Resource::* acknowledgement is reported by the wildcard check, at that role', () => {
    const { app } = buildTestPlatform({ ...NO_BUNDLING, ...EVERY_OPTION });
    const acknowledging = [
      ...new Set(
        acknowledgementsOf(app)
          .filter((a) => a.id === ANY_RESOURCE)
          .map((a) => a.path),
      ),
    ];
    const roles = acknowledging.flatMap((p) =>
      byPath(app, p)
        .node.findAll()
        .filter((c): c is iam.Role => c instanceof iam.Role),
    );
    expect(roles.length).toBeGreaterThanOrEqual(8);
    for (const role of roles) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: ['*'] }));

    // cdk-nag's IAM5 finding for them is `Resource::*`, which the acknowledgements answer: nothing from cdk-nag.
    expect(packFindings(app, 'AwsSolutions').filter((f) => f.startsWith('AwsSolutions-IAM5'))).toEqual([]);
    const reported = checkWildcardResources(identityStatements(app), loadIamReference()).findings;
    const unreported = roles.filter(
      (role) => !reported.some((f) => f.action === 'dynamodb:DeleteItem' && f.constructPath.startsWith(`${role.node.path}/`)),
    );
    expect(unreported.map((r) => r.node.path)).toEqual([]);
    expect(reported.every((f) => f.action === 'dynamodb:DeleteItem')).toBe(true);
  });

  test('a function planted under each acknowledging construct that is no resource itself is reported by every cdk-nag pack', () => {
    const { app } = buildTestPlatform({ ...NO_BUNDLING, ...EVERY_OPTION });
    const owners = [...new Set(acknowledgementsOf(app).map((a) => a.path))]
      .map((p) => byPath(app, p))
      .filter((c) => !CfnResource.isCfnResource(c) && !c.node.defaultChild && c.node.path.includes('/'));
    expect(owners.map((o) => o.node.path).sort()).toEqual(
      expect.arrayContaining(['DlPlatform-Monitoring/Responder', 'DlPlatform-Training/ModelRegistry']),
    );
    for (const owner of owners) {
      new lambda.Function(owner, 'PlantedFunction', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => 1;'),
      });
    }
    for (const pack of NAG_PACKS().map((p) => p.readPackName)) {
      const findings = packFindings(app, pack);
      const hidden = owners.filter((o) => !findings.some((f) => f.includes(` at ${o.node.path}/PlantedFunction/`)));
      expect([pack, hidden.map((o) => o.node.path)]).toEqual([pack, []]);
    }
  });
});
