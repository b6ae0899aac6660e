#!/usr/bin/env node
/** CDK entry: reads the configuration, builds the stacks and runs the cdk-nag rule packs (lib/nag-packs.ts). */
import { App, Validations } from 'aws-cdk-lib';

import { ConfigError, loadConfig } from '../lib/config';
import { NAG_PACKS } from '../lib/nag-packs';
import { buildPlatform } from '../lib/platform';

// aws-cdk-lib's built-in template validation takes more than half of a synth (4 s of 7 on an idle 2-core
// machine, far more under load); the test suite runs it once on a full synth (test/app-checks.test.ts) along
// with cfn-lint, which checks every template against the CloudFormation schemas, so `cdk synth` skips it.
const app = new App({ builtinCloudFormationValidation: false });
// AWS Solutions, NIST 800-53 R5, HIPAA Security and Serverless: every finding fails synth unless it is
// acknowledged on its resource with a reason.
Validations.of(app).addPlugins(...NAG_PACKS({ verbose: true }));
try {
  buildPlatform(app, loadConfig(app.node));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`Configuration error:\n${e.message}`);
  process.exit(1);
}
app.synth();
