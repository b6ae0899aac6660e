/**
 * The app as `cdk synth` would build it, synthesized in this process into a temporary cloud assembly, so
 * the preflight reads exactly what a deploy would deploy: the same configuration (cdk.json's context,
 * cdk.context.json, then the command line's, as the CDK CLI merges them) and the same stacks.
 * Lambda bundling and asset staging are skipped (a template refers to an asset only by its hash, and the
 * preflight reads no code) and so is cdk-nag (it judges the templates, not the account).
 */
import { App } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadConfig, PlatformConfig } from '../config';
import { buildPlatform } from '../platform';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

function readJson(file: string): Record<string, unknown> {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
}

/** The context `cdk synth` would see with these command-line values on top. */
export function appContext(overrides: Record<string, unknown>): Record<string, unknown> {
  const cdkJson = readJson(path.join(REPO_ROOT, 'cdk.json')) as { context?: Record<string, unknown> };
  return { ...cdkJson.context, ...readJson(path.join(REPO_ROOT, 'cdk.context.json')), ...overrides };
}

export interface SynthesizedApp {
  readonly config: PlatformConfig;
  /** The cloud assembly directory; delete it with {@link removeAssembly}. */
  readonly assemblyDir: string;
}

/**
 * Validates the configuration and synthesizes the platform.
 * @throws ConfigError (from lib/config.ts) naming each bad setting.
 */
export function synthesizePlatform(context: Record<string, unknown>): SynthesizedApp {
  const assemblyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlplatform-preflight-'));
  try {
    const app = new App({
      outdir: assemblyDir,
      // Assets stay where they are (no copy of training-image/ into the assembly): only templates are read.
      context: {
        ...context,
        [cxapi.BUNDLING_STACKS]: [],
        [cxapi.DISABLE_ASSET_STAGING_CONTEXT]: true,
        [cxapi.PATH_METADATA_ENABLE_CONTEXT]: true,
      },
      builtinCloudFormationValidation: false,
    });
    const config = loadConfig(app.node);
    buildPlatform(app, config);
    app.synth();
    return { config, assemblyDir };
  } catch (e) {
    removeAssembly(assemblyDir);
    throw e;
  }
}

export function removeAssembly(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
