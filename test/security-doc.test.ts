import * as fs from 'fs';

import { acceptancesOf, acceptedFindingsTable, defaultApp, SECURITY_DOC, withAcceptedFindings } from '../scripts/security-table';

describe('docs/security.md', () => {
  const acceptances = acceptancesOf(defaultApp());

  test('lists every accepted cdk-nag finding and checkov skip of the app, with where and why (npm run docs:security)', () => {
    const page = fs.readFileSync(SECURITY_DOC, 'utf8');
    expect(page).toEqual(withAcceptedFindings(page, acceptedFindingsTable(acceptances)));
  });

  test('every acceptance names its rule and gives a reason a reviewer can check (a sentence, not a placeholder)', () => {
    expect(acceptances.length).toBeGreaterThan(50);
    for (const a of acceptances) {
      expect(a.id).toMatch(/^(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security|Serverless)-\w+|^checkov CKV_AWS_\d+$/);
      expect(a.reason.length).toBeGreaterThan(40);
    }
  });

  test('an acknowledgement made on a construct shows up in the table under that construct', () => {
    const table = acceptedFindingsTable([
      { id: 'Serverless-LambdaDLQ', where: 'Serving/Canary', reason: 'A reason long enough to be read by a reviewer.' },
    ]);
    expect(table).toContain('| `Serverless-LambdaDLQ` | Serving/Canary | A reason long enough to be read by a reviewer. |');
  });
});
