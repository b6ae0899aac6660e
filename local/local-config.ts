/**
 * The configuration local mode runs with, read the way `cdk deploy` reads it: cdk.json's `context`, then the
 * command line's `-c key=value` overrides, validated by lib/config.ts. What the image reads from it (prepare's
 * PREPARE_* variables, the hyperparameters) comes from lib/image-settings.ts, as for the deploy.
 */
import * as fs from 'fs';
import * as path from 'path';

import { loadConfig, PlatformConfig } from '../lib/config';
import { REPO_ROOT } from './train-model';

export interface LocalConfig {
  /** The validated configuration. */
  readonly config: PlatformConfig;
  /** The settings as given (cdk.json's context, then the overrides), before defaults: what the user set. */
  readonly given: Readonly<Record<string, unknown>>;
}

/**
 * cdk.json's context with `overrides` on top, validated.
 * @throws ConfigError naming each bad setting, as `cdk synth` would
 */
export function loadLocalConfig(overrides: Record<string, string> = {}, root = REPO_ROOT): LocalConfig {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const given = { ...cdkJson.context, ...overrides };
  return { config: loadConfig(given), given };
}
