/**
 * The cdk-nag rule packs every synth runs (bin/app.ts) and the tests check (test/compliance.test.ts): AWS
 * Solutions, NIST 800-53 rev 5, HIPAA Security and Serverless. A finding in any of them fails synth unless the
 * construct that owns the resource acknowledges it with a reason (see each construct's `*-acknowledgements.ts`).
 */
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NagPackProps, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';

/** A fresh instance of each pack (a pack keeps the findings of its last run, so runs do not share one). */
export function NAG_PACKS(props: NagPackProps = {}): NagPack[] {
  return [
    new AwsSolutionsChecks(undefined, props),
    new NIST80053R5Checks(undefined, props),
    new HIPAASecurityChecks(undefined, props),
    new ServerlessChecks(undefined, props),
  ];
}
