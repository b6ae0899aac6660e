/** What the preflight found, and how it is printed: one line per finding, problems first. */

/** The account property a finding is about. */
export type Check = 'credentials' | 'bootstrap' | 'lambda' | 'sagemaker';

/**
 * `problem`: the first deploy (or the training it starts) will fail on it; `note`: a later deploy or
 * autoscaling will; `ok`: checked and fine.
 */
export interface Finding {
  readonly level: 'problem' | 'note' | 'ok';
  readonly check: Check;
  readonly text: string;
  /** What to do about it (problems and notes). */
  readonly todo?: string;
}

export function problem(check: Check, text: string, todo: string): Finding {
  return { level: 'problem', check, text, todo };
}

export function note(check: Check, text: string, todo: string): Finding {
  return { level: 'note', check, text, todo };
}

export function ok(check: Check, text: string): Finding {
  return { level: 'ok', check, text };
}

/** An AWS call the preflight could not make: a problem, since what it would have read stays unknown. */
export function unreadable(check: Check, what: string, error: unknown, action: string): Finding {
  const e = error as Error;
  return problem(
    check,
    `could not read ${what}: ${e.name}: ${e.message}`,
    `allow ${action} to these credentials, or run the preflight with credentials that have it`,
  );
}

const LABEL = { problem: 'PROBLEM', note: 'note   ', ok: 'ok     ' } as const;

/** The report's lines (problems, then notes, then what is fine) and the exit code: 1 when there is a problem. */
export function report(findings: readonly Finding[]): { lines: string[]; exitCode: 0 | 1 } {
  const order = ['problem', 'note', 'ok'] as const;
  const lines = order.flatMap((level) =>
    findings.filter((f) => f.level === level).map((f) => `${LABEL[level]} ${f.check}: ${f.text}${f.todo ? `. To do: ${f.todo}` : ''}`),
  );
  const problems = findings.filter((f) => f.level === 'problem').length;
  lines.push(
    problems > 0
      ? `${problems} problem${problems === 1 ? '' : 's'}: the first deploy would fail; fix ${problems === 1 ? 'it' : 'them'} before \`cdk deploy\`.`
      : 'No problem found: the first deploy fits this account and region.',
  );
  return { lines, exitCode: problems > 0 ? 1 : 0 };
}
