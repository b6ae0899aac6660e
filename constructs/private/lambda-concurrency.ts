/**
 * How much Lambda concurrency the platform reserves. Reserved concurrency both guarantees a function that many
 * executions and caps it there, so the inference proxy can neither be starved by other functions nor take the
 * region's whole pool (and throttle every other function, the alarm responder included).
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
 */
import { check, validateProps } from './validation';

/** Lambda keeps at least this many executions of the account's quota unreserved (same page). */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/** What the alarm responder reserves: alarms arrive a few at a time, each run is a few seconds. */
export const RESPONDER_RESERVED_CONCURRENCY = 5;

/**
 * The proxy's reservation: the API's steady rate times the longest a call may take (Little's law at the worst
 * case), capped at `cap`. Below the product, calls slower than `cap / rate` seconds on average are throttled,
 * and the throttle alarm says so.
 */
export function proxyReservedConcurrency(requestsPerSecond: number, maxDurationSeconds: number, cap: number): number {
  validateProps('proxyReservedConcurrency', ([['requestsPerSecond', requestsPerSecond], ['maxDurationSeconds', maxDurationSeconds], ['cap', cap]] as const)
    .map(([name, value]) => check(name, value, (n) => n > 0, 'a positive number')));
  return Math.min(Math.ceil(requestsPerSecond * maxDurationSeconds), Math.floor(cap));
}

/**
 * Why the reservations do not fit the account's quota, or undefined when they do: Lambda refuses a reservation
 * that leaves fewer than {@link LAMBDA_UNRESERVED_MINIMUM} executions unreserved.
 */
export function reservationProblem(reservations: Record<string, number>, accountQuota: number): string | undefined {
  const total = Object.values(reservations).reduce((a, b) => a + b, 0);
  if (total <= accountQuota - LAMBDA_UNRESERVED_MINIMUM) return undefined;
  const parts = Object.entries(reservations).map(([name, n]) => `${name} ${n}`).join(' + ');
  return `reserved Lambda concurrency (${parts} = ${total}) must leave ${LAMBDA_UNRESERVED_MINIMUM} of the account's ${accountQuota} unreserved, so at most ${accountQuota - LAMBDA_UNRESERVED_MINIMUM}`;
}
