import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import * as path from 'path';

import { PlatformFunction } from '../constructs/private/platform-function';
import { contextWith } from './support/platform';

// NodejsFunction wants its entry under the project root: a scratch folder in .local/ (git-ignored).
fs.mkdirSync(path.join(__dirname, '..', '.local'), { recursive: true });
const dir = fs.mkdtempSync(path.join(__dirname, '..', '.local', 'platform-function-'));
const runtime = path.join(dir, 'runtime');
fs.mkdirSync(runtime);
fs.writeFileSync(path.join(runtime, 'index.ts'), "import { GREETING } from './greeting';\nexport const handler = async () => GREETING;\n");
fs.writeFileSync(path.join(runtime, 'greeting.ts'), "export const GREETING = 'hello';\n");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function synth(entry = path.join(runtime, 'index.ts')): Template {
  const stack = new Stack(new App({ context: contextWith() }), 'Test');
  new PlatformFunction(stack, 'Fn', { entry, description: 'test', timeout: Duration.seconds(3) });
  return Template.fromStack(stack);
}

function bundleKey(template: Template): string {
  return Object.values(template.findResources('AWS::Lambda::Function'))[0].Properties.Code.S3Key;
}

describe('PlatformFunction', () => {
  test('Node.js 24 on arm64, JSON logs to its own log group, and a role that may write only there', () => {
    const template = synth();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 3,
      LoggingConfig: {
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'WARN',
        LogGroup: { Ref: Match.stringLikeRegexp('^FnLogGroup') },
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FnLogGroup'), 'Arn'] },
          },
        ],
      },
    });
    template.resourcePropertiesCountIs('AWS::IAM::Role', { ManagedPolicyArns: Match.anyValue() }, 0);
  });

  test('the bundle hash is stable, and changes when any file of the runtime/ folder changes', () => {
    const before = bundleKey(synth());
    expect(bundleKey(synth())).toBe(before);
    fs.writeFileSync(path.join(runtime, 'greeting.ts'), "export const GREETING = 'bonjour';\n");
    expect(bundleKey(synth())).not.toBe(before);
  });

  test('refuses an entry outside a runtime/ folder', () => {
    fs.writeFileSync(path.join(dir, 'loose.ts'), 'export const handler = async () => 1;\n');
    expect(() => synth(path.join(dir, 'loose.ts'))).toThrow(
      /^PlatformFunction at \S+: invalid entry ".*loose\.ts"; allowed: a file in a runtime\/ folder/,
    );
  });
});
