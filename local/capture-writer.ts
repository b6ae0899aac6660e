/**
 * Data capture as a SageMaker endpoint does it, for local mode: every invocation the model answered becomes one
 * JSON Lines record in `<directory>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` (UTC hours), in SageMaker's
 * capture format (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html, View
 * Captured Data), which the image's `monitor` reads (training-image/src/dlplatform/monitor/capture.py):
 *
 *     {"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
 *                      "endpointOutput": {"observedContentType", "mode": "OUTPUT", "data", "encoding"}},
 *      "eventMetadata": {"eventId", "inferenceTime"}, "eventVersion": "0"}
 *
 * Captured bodies are the clients' data: they stay on this machine, under the work dir, and are never logged.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { captureEncoding } from '../constructs/serving/capture-content-types';

export interface CaptureWriterOptions {
  /** Root of the capture files (local mode: `<work dir>/capture`). */
  readonly directory: string;
  /** @default 'AllTraffic' */
  readonly variantName?: string;
  /** The clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
}

/** One side of an invocation. */
export interface CapturedBody {
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Writes capture records; one file per endpoint, variant and hour for the life of the writer, as an instance does. */
export class CaptureWriter {
  private readonly files = new Map<string, string>();
  private readonly variant: string;
  private readonly now: () => Date;

  constructor(private readonly options: CaptureWriterOptions) {
    this.variant = options.variantName ?? 'AllTraffic';
    this.now = options.now ?? (() => new Date());
  }

  /** Appends the record of one invocation; returns the file it went to. */
  record(endpointName: string, input: CapturedBody, output: CapturedBody): string {
    const time = this.now();
    const hour = `${time.getUTCFullYear()}/${pad(time.getUTCMonth() + 1)}/${pad(time.getUTCDate())}/${pad(time.getUTCHours())}`;
    const key = `${endpointName}/${this.variant}/${hour}`;
    let file = this.files.get(key);
    if (!file) {
      // SageMaker names a file by the time it started and a random part: <mm>-<ss>-<mmm>-<uuid>.jsonl.
      file = path.join(
        this.options.directory,
        endpointName,
        this.variant,
        ...hour.split('/'),
        `${pad(time.getUTCMinutes())}-${pad(time.getUTCSeconds())}-${pad(time.getUTCMilliseconds(), 3)}-${randomUUID()}.jsonl`,
      );
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.files.set(key, file);
    }
    const line = {
      captureData: { endpointInput: captured(input, 'INPUT'), endpointOutput: captured(output, 'OUTPUT') },
      eventMetadata: { eventId: randomUUID(), inferenceTime: `${time.toISOString().slice(0, 19)}Z` },
      eventVersion: '0',
    };
    fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
    return file;
  }
}

function captured(side: CapturedBody, mode: 'INPUT' | 'OUTPUT') {
  const encoding = captureEncoding(side.contentType);
  return {
    observedContentType: side.contentType ?? '',
    mode,
    data: encoding === 'BASE64' ? side.body.toString('base64') : side.body.toString('utf8'),
    encoding,
  };
}
