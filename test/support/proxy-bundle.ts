/**
 * The proxy Lambda's code exactly as `cdk deploy` uploads it: an InferenceProxy synthesized on its own,
 * bundled by the construct's own esbuild options.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { InferenceProxy } from '../../constructs/serving/inference-proxy';

/** Synthesizes the proxy into a temporary cloud assembly; returns its bundle (index.js) and a cleanup. */
export function synthProxyBundle(): { file: string; dispose: () => void } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-bundle-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'ProxyBundle');
  const endpointArn = 'arn:aws:sagemaker:eu-west-1:123456789012:endpoint/bundle-test';
  const proxy = new InferenceProxy(stack, 'Proxy', {
    endpoint: {
      endpointName: 'bundle-test',
      grantInvoke: (grantee: iam.IGrantable) =>
        iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:InvokeEndpoint'], resourceArns: [endpointArn] }),
    },
  });
  const assembly = app.synth();
  // The function's S3 key is <asset hash>.zip; the assembly holds the bundle in asset.<hash>/.
  const s3Key = stack.resolve((proxy.function.node.defaultChild as lambda.CfnFunction).code).s3Key as string;
  const file = path.join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.js');
  if (!fs.existsSync(file)) throw new Error(`No proxy bundle at ${file}`);
  return { file, dispose: () => fs.rmSync(outdir, { recursive: true, force: true }) };
}

const RESULT_MARK = '@@handler-result@@';
/** Requires the bundle in a plain Node.js process (as Lambda does), calls its handler once, prints the result. */
const RUNNER = `
const { handler } = require(process.argv[1]);
const context = { awsRequestId: 'bundle-run', getRemainingTimeInMillis: () => Number(process.argv[3]) };
handler(JSON.parse(process.argv[2]), context).then(
  (r) => process.stdout.write('\\n${RESULT_MARK}' + JSON.stringify(r) + '\\n'),
  (e) => { console.error(e); process.exit(1); });
`;

/**
 * Runs the bundle's handler in a child Node.js process with this process's environment: the bundle lazily
 * imports Node built-ins, which jest's module sandbox cannot load.
 */
export function invokeBundle(file: string, event: unknown, remainingMs = 27_000): Promise<{ result: APIGatewayProxyResult; logs: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', RUNNER, file, JSON.stringify(event), String(remainingMs)],
      { env: process.env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`The bundled handler failed: ${error.message}\n${stderr}`));
        const at = stdout.lastIndexOf(RESULT_MARK);
        if (at < 0) return reject(new Error(`The bundled handler printed no result:\n${stdout}\n${stderr}`));
        resolve({ result: JSON.parse(stdout.slice(at + RESULT_MARK.length)), logs: stdout.slice(0, at) });
      },
    );
  });
}
