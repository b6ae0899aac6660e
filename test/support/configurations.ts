/**
 * The configurations the app-wide security checks run over (test/wildcard-resources.test.ts,
 * test/acknowledgements.test.ts, test/function-alarms.test.ts): the defaults, every optional feature on, and each
 * setting that changes which acknowledgements a construct makes or which statements a role holds. A setting that
 * adds a conditional acknowledgement or policy belongs here, so an acknowledgement that applies only with it is
 * still seen matching its finding.
 */
import { EVERY_OPTION } from './platform';

/** One configuration: what it is called in test names and failure messages, and its context overrides. */
export interface TestedConfiguration {
  readonly name: string;
  readonly overrides: Record<string, unknown>;
}

export const TESTED_CONFIGURATIONS: readonly TestedConfiguration[] = [
  { name: 'the default settings', overrides: {} },
  { name: 'every optional feature on', overrides: EVERY_OPTION },
  // Reservations replace the LambdaConcurrency acknowledgements of the proxy and the responder.
  { name: 'reserved Lambda concurrency', overrides: { reserveLambdaConcurrency: true, lambdaConcurrencyQuota: 1000 } },
];
