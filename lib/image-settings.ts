/**
 * What the training image reads, from the validated configuration: `prepare`'s PREPARE_* environment
 * (training-image/src/dlplatform/prepare/config.py) and the training job's hyperparameters. One mapping, used by
 * the deploy (lib/platform.ts) and by local mode (local/), so both prepare and train the same way.
 */
import type { PlatformConfig } from './config';

/** Each `prepare*` setting and the PREPARE_* variable the image reads it from. */
export const PREPARE_VARIABLES = {
  prepareLabelColumn: 'PREPARE_LABEL_COLUMN',
  prepareMissingValues: 'PREPARE_MISSING_VALUES',
  prepareDropDuplicates: 'PREPARE_DROP_DUPLICATES',
  prepareConstantColumns: 'PREPARE_CONSTANT_COLUMNS',
  prepareMaxCategories: 'PREPARE_MAX_CATEGORIES',
  prepareUnseenCategories: 'PREPARE_UNSEEN_CATEGORIES',
  prepareValidationFraction: 'PREPARE_VALIDATION_FRACTION',
  prepareTestFraction: 'PREPARE_TEST_FRACTION',
  prepareSeed: 'PREPARE_SEED',
} as const satisfies Partial<Record<keyof PlatformConfig, `PREPARE_${string}`>>;

/** The setting a PREPARE_* variable comes from, or undefined for a name the image does not know. */
export function settingOfPrepareVariable(variable: string): keyof typeof PREPARE_VARIABLES | undefined {
  return (Object.keys(PREPARE_VARIABLES) as (keyof typeof PREPARE_VARIABLES)[]).find((k) => PREPARE_VARIABLES[k] === variable);
}

/** `prepare`'s environment: every set `prepare*` setting as its PREPARE_* variable (unset ones take the image's default). */
export function prepareEnvironment(config: PlatformConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [setting, variable] of Object.entries(PREPARE_VARIABLES) as [keyof typeof PREPARE_VARIABLES, string][]) {
    const value = config[setting];
    if (value !== undefined) out[variable] = String(value);
  }
  return out;
}

/**
 * The training job's hyperparameters: the `hyperparameters` setting, after the label column `prepare` kept the
 * labels in (when the data names its own; the setting's `label_column` wins).
 */
export function trainingHyperparameters(config: PlatformConfig): Record<string, string> {
  return {
    ...(config.prepareLabelColumn !== undefined ? { label_column: config.prepareLabelColumn } : {}),
    ...config.hyperparameters,
  };
}
