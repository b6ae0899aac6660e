/** The serving stack as the platform builds it, for assertions. */
import { ServingStack } from '../../lib/serving-stack';
import { buildTestPlatform, SynthesizedPlatform } from './platform';

export interface ServingUnderTest extends SynthesizedPlatform {
  readonly serving: ServingStack;
}

/** Builds the whole platform with cdk.json's context plus `overrides`, and returns its serving stack. */
export function buildServing(overrides: Record<string, unknown> = {}): ServingUnderTest {
  const built = buildTestPlatform(overrides);
  return { ...built, serving: built.platform.serving };
}
