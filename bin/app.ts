#!/usr/bin/env node
/** CDK entry: reads the configuration, builds the stacks and runs the cdk-nag AwsSolutions checks. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig } from '../lib/config';
import { buildPlatform } from '../lib/platform';

const app = new App();
// Every finding fails synth unless it is acknowledged on its resource with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
try {
  buildPlatform(app, loadConfig(app.node));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`Configuration error:\n${e.message}`);
  process.exit(1);
}
app.synth();
