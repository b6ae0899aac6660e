/** The ConfigError message loadConfig throws for `context`; fails the test when it accepts it. */
import { TorchBuild } from '../../constructs/instance-types';
import { ConfigError, loadConfig } from '../../lib/config';

export function configError(context: Record<string, unknown>, image?: TorchBuild): string {
  try {
    loadConfig(context, image);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(context)} to be refused`);
}
