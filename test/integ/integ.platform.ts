/**
 * The integ test's app (`npm run integ` deploys it, runs its assertions and destroys it; docs/integ-test.md).
 * The CDK CLI passes cdk.json's feature flags; the small copy's settings come after them, so they win.
 */
import { App } from 'aws-cdk-lib';

import { buildPlatformInteg, INTEG_CONTEXT } from './platform-integ';

const app = new App({ postCliContext: INTEG_CONTEXT });
buildPlatformInteg(app);
app.synth();
