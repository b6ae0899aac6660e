/** Progress lines of `npm run local`: numbered steps with the time each took, and indented detail lines. */

export class Progress {
  private readonly started = Date.now();
  private stepStarted = Date.now();
  private current = 0;

  constructor(
    private readonly total: number,
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {}

  /** Starts the next step: `[2/4] Starting the model server...`. */
  step(title: string): void {
    this.current++;
    this.stepStarted = Date.now();
    this.write(`[${this.current}/${this.total}] ${title}`);
  }

  /** A line under the current step. */
  detail(line: string): void {
    this.write(`      ${line}`);
  }

  /** Ends the current step with its duration (or `ms`, when the work ran elsewhere and reported its own time). */
  done(summary: string, ms?: number): void {
    this.write(`      ${summary} (${seconds(ms ?? Date.now() - this.stepStarted)})`);
  }

  /** Seconds since the run began. */
  elapsed(): string {
    return seconds(Date.now() - this.started);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
