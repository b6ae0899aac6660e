/**
 * How much Lambda concurrency the platform reserves, when it reserves any. Reserved concurrency both guarantees a
 * function that many executions and caps it there, so the inference proxy can neither be starved by other
 * functions nor take the region's whole pool.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
 *
 * Reserving is off by default: "New AWS accounts have reduced concurrency and memory quotas"
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), and Lambda refuses any reservation
 * that leaves fewer than {@link LAMBDA_UNRESERVED_MINIMUM} executions unreserved, so an account created today
 * could not deploy a single reservation.
 */
import { check, validateProps } from './validation';

/**
 * Lambda keeps at least this many executions of the account's quota unreserved: "You can reserve up to the
 * Unreserved account concurrency value minus 100" (configuration-concurrency.html above). Lambda's API model says the
 * same in PutFunctionConcurrency's documentation ("leave at least 100 simultaneous executions unreserved"), which
 * test/lambda-concurrency.test.ts reads from botocore's lambda service-2.json.
 */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/** What the alarm responder reserves: alarms arrive a few at a time, each run is a few seconds. */
export const RESPONDER_RESERVED_CONCURRENCY = 5;

/**
 * The proxy's reservation: the API's steady rate times the longest a call may take (Little's law at the worst
 * case), capped at `cap`. Below the product, calls slower than `cap / rate` seconds on average are throttled,
 * and the throttle alarm says so.
 */
export function proxyReservedConcurrency(requestsPerSecond: number, maxDurationSeconds: number, cap: number): number {
  validateProps(
    'proxyReservedConcurrency',
    (
      [
        ['requestsPerSecond', requestsPerSecond],
        ['maxDurationSeconds', maxDurationSeconds],
        ['cap', cap],
      ] as const
    ).map(([name, value]) => check(name, value, (n) => n > 0, 'a positive number')),
  );
  return Math.min(Math.ceil(requestsPerSecond * maxDurationSeconds), Math.floor(cap));
}

/** The concurrency the platform reserves per function. */
export interface PlatformReservations {
  /** The inference proxy's (Serving stack). */
  readonly proxy: number;
  /** The alarm responder's (Monitoring stack). */
  readonly responder: number;
}

/** The settings that decide the platform's reservations (lib/config.ts's names). */
export interface ReservationSettings {
  readonly reserveLambdaConcurrency: boolean;
  readonly apiThrottleRateLimit: number;
  readonly proxyReservedConcurrencyCap: number;
}

/**
 * The one place that decides what the platform reserves: undefined when `reserveLambdaConcurrency` is off (every
 * function shares the account's unreserved pool), otherwise the proxy's reservation for a function of
 * `proxyTimeoutSeconds` and the responder's. The stacks set exactly these numbers as ReservedConcurrentExecutions.
 */
export function platformReservations(settings: ReservationSettings, proxyTimeoutSeconds: number): PlatformReservations | undefined {
  if (!settings.reserveLambdaConcurrency) return undefined;
  return {
    proxy: proxyReservedConcurrency(settings.apiThrottleRateLimit, proxyTimeoutSeconds, settings.proxyReservedConcurrencyCap),
    responder: RESPONDER_RESERVED_CONCURRENCY,
  };
}

/**
 * Why the reservations do not fit the account's quota, or undefined when they do: Lambda refuses a reservation
 * that leaves fewer than {@link LAMBDA_UNRESERVED_MINIMUM} executions unreserved.
 */
export function reservationProblem(reservations: Record<string, number>, accountQuota: number): string | undefined {
  const total = Object.values(reservations).reduce((a, b) => a + b, 0);
  if (total <= accountQuota - LAMBDA_UNRESERVED_MINIMUM) return undefined;
  const parts = Object.entries(reservations)
    .map(([name, n]) => `${name} ${n}`)
    .join(' + ');
  const most = Math.max(0, accountQuota - LAMBDA_UNRESERVED_MINIMUM);
  return `reserved Lambda concurrency (${parts} = ${total}) must leave ${LAMBDA_UNRESERVED_MINIMUM} of the account's ${accountQuota} unreserved, so at most ${most}`;
}
