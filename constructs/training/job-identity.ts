/**
 * How a SageMaker job of this app is named, the same for training and processing jobs: `<prefix>-<16 hex digits
 * of a hash of everything that determines the job's output>`, fixed at synth. The same inputs give the same name,
 * so an unchanged deploy starts no job and any change starts exactly one; SageMaker never reuses a name, so the
 * attempt number is part of the identity, to run a job again whose inputs did not change.
 */
import { Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { contentAddressedJobName } from './runtime/job-requests';

/**
 * The longest prefix: the 16 hex digits and their hyphen leave 46 of SageMaker's 63 characters, and IAM and
 * EventBridge match `<prefix>-*`.
 */
export const MAX_PREFIX_LENGTH = 40;

/** A job's identity: its prefix, its name, and the start-phase property that lets the handler name the next attempt. */
export interface JobIdentity {
  /** Start of every name of the construct's jobs. */
  readonly prefix: string;
  /** `<prefix>-<16 hex digits of the inputs' hash>`. */
  readonly name: string;
  /** `Attempt` when the user set one: an error that needs a new job then names the next one (the handler's `-c <setting>=n+1`). */
  readonly startProperties: { readonly Attempt?: number };
}

/**
 * The identity of a job whose output is determined by `inputs` (in a fixed key order; `attempt` is added last).
 * @param attempt the user's attempt number; unset counts as 1.
 */
export function jobIdentity(prefix: string, inputs: Record<string, unknown>, attempt?: number): JobIdentity {
  return {
    prefix,
    name: contentAddressedJobName(prefix, { ...inputs, attempt: attempt ?? 1 }),
    // Only a set attempt: the handler names the next one when it must refuse an earlier deployment's job.
    startProperties: attempt !== undefined ? { Attempt: attempt } : {},
  };
}

/**
 * The default prefix: the stack name, lowercased (SageMaker lowercases names in ARNs, which IAM matches), then
 * `-<suffix>` when given (a processing job's entry point), within {@link MAX_PREFIX_LENGTH} characters.
 */
export function defaultJobNamePrefix(stackName: string, suffix?: string): string {
  const base = stackName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_PREFIX_LENGTH)
    .replace(/^-+|-+$/g, '');
  if (suffix === undefined) return base;
  const tail = suffix
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 12)
    .replace(/-+$/, '');
  return `${base.slice(0, MAX_PREFIX_LENGTH - tail.length - 1)}-${tail}`;
}

/** Whether `prefix` may start job names: lowercase letters, digits and inner hyphens, at most {@link MAX_PREFIX_LENGTH}. */
export function isValidJobNamePrefix(prefix: string): boolean {
  return prefix.length <= MAX_PREFIX_LENGTH && /^[a-z0-9](-*[a-z0-9])*$/.test(prefix);
}

/** What {@link isValidJobNamePrefix} allows, in words. */
export const JOB_NAME_PREFIX_ALLOWED = `lowercase letters, digits and hyphens (not first or last), at most ${MAX_PREFIX_LENGTH} characters`;

/** Whether `attempt` is a valid attempt number: a whole number of at least 1. */
export function isValidAttempt(attempt: number): boolean {
  return Number.isInteger(attempt) && attempt >= 1;
}

/** A bucket's stable identity: its name when known at synth, otherwise its place in the app. */
export function bucketIdentity(bucket: s3.IBucket): string {
  return Token.isUnresolved(bucket.bucketName) ? bucket.node.path : bucket.bucketName;
}

/** The record with its keys in order, so the hash does not depend on how the map was written. */
export function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
