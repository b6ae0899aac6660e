#!/usr/bin/env node
/**
 * `npm run preflight [-- -c name=value ...] [--context-file file.json]`: before the first deploy, with AWS
 * credentials, says what the deploy would hit in the account (lib/preflight/run-preflight.ts); read-only.
 * Exit code 0: nothing found; 1: problems (one line each, with what to do); 2: it could not run.
 */
import * as fs from 'fs';

import { preflightCommand } from '../lib/preflight/run-preflight';

const USAGE = `Usage: npm run preflight [-- [-c name=value]... [--context-file file.json]]

Synthesizes the app with cdk.json's settings (and these, as \`cdk deploy -c\` takes them), then reads the
account and region of your AWS credentials (AWS_PROFILE, AWS_REGION) and reports, one line each, what the
first deploy would hit: the CDK bootstrap version, Lambda concurrency for the reserved functions, and the
SageMaker instance quotas of the configured types. It creates and changes nothing.

  -c, --context name=value   a setting, as for cdk deploy (repeatable)
  --context-file file.json   settings from a JSON object (the integ test's: test/integ/integ-context.json)
  -h, --help                 this text

Exit code: 0 nothing found, 1 problems found, 2 could not run.`;

/** The context values the arguments give, or a usage error. */
export function parseArguments(argv: readonly string[]): { context: Record<string, unknown> } | { error: string } | { help: true } {
  const context: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '-c' || arg === '--context') {
      const pair = argv[++i];
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) return { error: `${arg} needs name=value, got ${pair === undefined ? 'nothing' : JSON.stringify(pair)}` };
      context[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else if (arg === '--context-file') {
      const file = argv[++i];
      if (!file || !fs.existsSync(file))
        return { error: `--context-file needs an existing JSON file, got ${file === undefined ? 'nothing' : JSON.stringify(file)}` };
      let values: unknown;
      try {
        values = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        return { error: `${file} is not JSON: ${(e as Error).message}` };
      }
      if (typeof values !== 'object' || values === null || Array.isArray(values))
        return { error: `${file} must hold a JSON object of settings` };
      Object.assign(context, values);
    } else {
      return { error: `unknown argument ${JSON.stringify(arg)}` };
    }
  }
  return { context };
}

async function main(): Promise<number> {
  const parsed = parseArguments(process.argv.slice(2));
  if ('help' in parsed) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in parsed) {
    console.error(`${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  return preflightCommand(parsed.context, (line) => console.log(line));
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.stack : String(e));
      process.exit(2);
    },
  );
}
