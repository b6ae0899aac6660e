import { App, Environment } from 'aws-cdk-lib';
import { PlatformConfig } from './config';
import { DataStack } from './data-stack';

/** The stacks of one platform, for wiring and for tests. */
export interface Platform {
  readonly data: DataStack;
}

/** Builds every stack of the platform from a validated configuration. */
export function buildPlatform(app: App, config: PlatformConfig): Platform {
  const env: Environment | undefined = config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const name = (part: string) => `${config.stackPrefix}-${part}`;

  const data = new DataStack(app, name('Data'), {
    env,
    description: 'Deep-learning platform: KMS key and the data, model-artifact and access-log buckets',
    noncurrentVersionExpirationDays: config.noncurrentVersionExpirationDays,
  });

  return { data };
}
