/**
 * IAM is eventually consistent: "changes ... take time to become visible from other services"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
 * A job's execution role is created in the same deploy, moments before the job, so SageMaker may not yet be able
 * to assume it, and CreateTrainingJob / CreateProcessingJob then answer ValidationException "Could not assume role
 * <arn>. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role."
 * That one error is retried, a bounded number of times with growing waits; every other error is not.
 */

/** How often, and after how long, a create is tried again while its role cannot be assumed yet. */
export interface RolePropagationRetry {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Wait before the second try; each further wait doubles. */
  readonly firstDelayMs: number;
}

/**
 * 5 tries over 2 + 4 + 8 + 16 = 30 s of waiting: within the job handler's 60 s timeout, and longer than IAM usually
 * takes to make a new role usable.
 */
export const ROLE_PROPAGATION_RETRY: RolePropagationRetry = { attempts: 5, firstDelayMs: 2_000 };

/** The waits, through an object so tests can observe them instead of sleeping. */
export const waits = {
  sleep: (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Whether SageMaker refused the call because it cannot assume the request's role (yet). */
export function roleNotAssumable(e: unknown): boolean {
  return e instanceof Error && e.name === 'ValidationException' && /could not assume role/i.test(e.message);
}

/**
 * Runs `create`, trying again while SageMaker cannot assume the role; after the last try the error is thrown
 * with a note that the role never became usable. `onRetry` hears of each wait.
 */
export async function createWhileRoleAssumable<T>(
  create: () => Promise<T>,
  onRetry: (attempt: number, delayMs: number, error: Error) => void = () => undefined,
  policy: RolePropagationRetry = ROLE_PROPAGATION_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (e) {
      if (!roleNotAssumable(e)) throw e;
      const error = e as Error;
      if (attempt >= policy.attempts) {
        error.message =
          `${error.message} (still refused after ${policy.attempts} tries over ` +
          `${totalWaitSeconds(policy)} s; a new role normally becomes usable within that time, so check the role's trust policy)`;
        throw error;
      }
      const delayMs = policy.firstDelayMs * 2 ** (attempt - 1);
      onRetry(attempt, delayMs, error);
      await waits.sleep(delayMs);
    }
  }
}

function totalWaitSeconds(policy: RolePropagationRetry): number {
  return (policy.firstDelayMs * (2 ** (policy.attempts - 1) - 1)) / 1000;
}
