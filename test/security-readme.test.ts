import * as fs from 'fs';
import * as path from 'path';
import { acceptancesOf, acceptedFindingsTable, defaultApp, withAcceptedFindings } from '../scripts/security-table';

describe('README Security section', () => {
  const acceptances = acceptancesOf(defaultApp());

  test('lists every accepted cdk-nag finding and checkov skip of the app, with where and why (npm run docs:security)', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toEqual(withAcceptedFindings(readme, acceptedFindingsTable(acceptances)));
  });

  test('every acceptance names its rule and gives a reason a reviewer can check (a sentence, not a placeholder)', () => {
    expect(acceptances.length).toBeGreaterThan(50);
    for (const a of acceptances) {
      expect(a.id).toMatch(/^(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security|Serverless)-\w+|^checkov CKV_AWS_\d+$/);
      expect(a.reason.length).toBeGreaterThan(40);
    }
  });

  test('an acknowledgement made on a construct shows up in the table under that construct', () => {
    const table = acceptedFindingsTable([{ id: 'Serverless-LambdaDLQ', where: 'Serving/Canary', reason: 'A reason long enough to be read by a reviewer.' }]);
    expect(table).toContain('| `Serverless-LambdaDLQ` | Serving/Canary | A reason long enough to be read by a reviewer. |');
  });
});
