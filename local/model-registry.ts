/**
 * Local mode's model registry: a folder with one JSON record per model version, the stand-in for a SageMaker
 * Model Package Group. A record carries what a model package would: the model's content hash, the data and
 * code hashes, the evaluation's metrics, the approval status with its reason, and where the artifacts and
 * reports are. Versions count up in registration order; the same model (same content hash) registers once.
 */
import * as fs from 'fs';
import * as path from 'path';

/** SageMaker's ModelApprovalStatus values. */
export type ApprovalStatus = 'Approved' | 'Rejected' | 'PendingManualApproval';

export interface ModelRecord {
  /** 1, 2, ... in registration order (a model package's version). */
  readonly version: number;
  /** The model's content hash (metadata.json `model_version`). */
  readonly modelVersion: string;
  /** The prepared data's content hash (`prepare`'s data.sha256), when the model was trained on prepared data. */
  readonly dataHash?: string;
  /** Hash of the training-image sources, training data and hyperparameters (the training cache key). */
  readonly codeHash: string;
  readonly approvalStatus: ApprovalStatus;
  /** Why: the quality gate's sentence with both figures. */
  readonly statusReason: string;
  /** The evaluation's key metrics, named as in training-image/metric-definitions.json. */
  readonly metrics: Record<string, number>;
  /** The model folder (what model.tar.gz holds). */
  readonly modelDir: string;
  readonly evaluationReport: string;
  readonly dataReport?: string;
  /** ISO 8601 time of registration. */
  readonly registeredAt: string;
}

export type NewRecord = Omit<ModelRecord, 'version' | 'registeredAt'>;

export class LocalModelRegistry {
  constructor(readonly dir: string) {}

  /** Every record, oldest version first. */
  list(): ModelRecord[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as ModelRecord)
      .sort((a, b) => a.version - b.version);
  }

  find(modelVersion: string): ModelRecord | undefined {
    return this.list().find((record) => record.modelVersion === modelVersion);
  }

  /** The model the endpoint serves: the newest approved version. */
  newestApproved(): ModelRecord | undefined {
    return this.list()
      .filter((record) => record.approvalStatus === 'Approved')
      .pop();
  }

  /** Adds a record as the next version; a model already registered keeps its first record. */
  register(entry: NewRecord): { record: ModelRecord; created: boolean } {
    const existing = this.find(entry.modelVersion);
    if (existing) return { record: existing, created: false };
    fs.mkdirSync(this.dir, { recursive: true });
    const records = this.list();
    const record: ModelRecord = {
      version: (records[records.length - 1]?.version ?? 0) + 1,
      ...entry,
      registeredAt: new Date().toISOString(),
    };
    const file = this.recordFile(record.modelVersion);
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
    fs.renameSync(`${file}.tmp`, file);
    return { record, created: true };
  }

  recordFile(modelVersion: string): string {
    return path.join(this.dir, `${modelVersion}.json`);
  }
}
