/**
 * Local mode's quality gate (the deploy's rule, constructs/training/runtime/quality-gate.ts) and model registry
 * (local/model-registry.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { applyQualityGate } from '../constructs/training/runtime/quality-gate';
import { LocalModelRegistry, NewRecord } from '../local/model-registry';

const SETTINGS = { metric: 'test_accuracy', bar: 0.95, maxRegression: 0.01 };
const approved = { name: 'version 3 (aaaa)', metrics: { test_accuracy: 0.98, test_ece: 0.02 } };

describe('quality gate', () => {
  test('passes a model at or above the bar when nothing is approved yet', () => {
    expect(applyQualityGate({ test_accuracy: 0.95 }, SETTINGS)).toEqual({
      passed: true,
      reason: 'test_accuracy 0.95 meets the bar 0.95; no approved model to compare with',
    });
  });

  test('rejects a model below the absolute bar, naming both figures', () => {
    expect(applyQualityGate({ test_accuracy: 0.9412 }, SETTINGS, approved)).toEqual({
      passed: false,
      reason: 'test_accuracy 0.9412 is below the minimum 0.95',
    });
  });

  test('rejects a model that regresses beyond the tolerance against the approved one, naming both figures', () => {
    expect(applyQualityGate({ test_accuracy: 0.965 }, SETTINGS, approved)).toEqual({
      passed: false,
      reason: 'test_accuracy 0.965 is 0.015 below the approved model version 3 (aaaa) (0.98), more than the tolerance 0.01',
    });
  });

  test('passes a model within the tolerance of the approved one', () => {
    expect(applyQualityGate({ test_accuracy: 0.975 }, SETTINGS, approved).passed).toBe(true);
  });

  test('treats calibration error as lower-is-better', () => {
    const gate = { metric: 'test_ece', bar: 0.05, maxRegression: 0.01 };
    expect(applyQualityGate({ test_ece: 0.06 }, gate).reason).toBe('test_ece 0.06 is above the maximum 0.05');
    expect(applyQualityGate({ test_ece: 0.04 }, gate, approved).reason).toBe(
      'test_ece 0.04 is 0.02 above the approved model version 3 (aaaa) (0.02), more than the tolerance 0.01',
    );
  });

  test("compares with the approved model's figure on the same test rows, and says so", () => {
    // The approved model scored 0.98 on its own test split but 0.962 on the candidate's: like with like, 0.965 passes.
    const sameRows = { ...approved, metrics: { test_accuracy: 0.962 }, sameData: true };
    expect(applyQualityGate({ test_accuracy: 0.965 }, SETTINGS, sameRows)).toEqual({
      passed: true,
      reason:
        'test_accuracy 0.965 meets the bar 0.95 and is within 0.01 of the approved model version 3 (aaaa) (0.962 on the same test rows)',
    });
    expect(applyQualityGate({ test_accuracy: 0.95 }, SETTINGS, sameRows).reason).toBe(
      'test_accuracy 0.95 is 0.012 below the approved model version 3 (aaaa) (0.962 on the same test rows), more than the tolerance 0.01',
    );
  });

  test('a different problem is refused as such, never as a regression, unless the schema change is accepted', () => {
    const other = { ...approved, differences: ['input columns: the candidate adds "h"'] };
    const refused = applyQualityGate({ test_accuracy: 0.96 }, SETTINGS, other);
    expect(refused).toEqual({
      passed: false,
      reason:
        'a different problem from the approved model version 3 (aaaa) (input columns: the candidate adds "h"): not compared and not a regression; ' +
        'train it into a new model group (locally: another --work-dir), or set qualityGateSchemaChange=accept to let it replace the approved model when it meets the bar',
    });
    expect(refused.reason).not.toMatch(/below the approved/);
    expect(applyQualityGate({ test_accuracy: 0.96 }, { ...SETTINGS, schemaChange: 'accept' }, other)).toEqual({
      passed: true,
      reason:
        'test_accuracy 0.96 meets the bar 0.95; a different problem from the approved model version 3 (aaaa) (input columns: the candidate adds "h"), accepted by qualityGateSchemaChange=accept: judged on the bar alone',
    });
    expect(applyQualityGate({ test_accuracy: 0.9 }, { ...SETTINGS, schemaChange: 'accept' }, other).reason).toBe(
      'test_accuracy 0.9 is below the minimum 0.95',
    );
  });

  test('rejects an evaluation that lacks the gate metric, listing the ones it has', () => {
    expect(applyQualityGate({ test_macro_f1: 0.99 }, SETTINGS)).toEqual({
      passed: false,
      reason: 'the evaluation has no test_accuracy; it has test_macro_f1',
    });
  });
});

describe('local model registry', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const entry = (modelVersion: string, approvalStatus: NewRecord['approvalStatus']): NewRecord => ({
    modelVersion,
    approvalStatus,
    codeHash: 'c0de',
    statusReason: 'r',
    metrics: { test_accuracy: 0.97 },
    modelDir: '/m',
    evaluationReport: '/m/evaluation.html',
  });

  test('numbers versions in registration order, one JSON record per model version', () => {
    const registry = new LocalModelRegistry(dir);
    expect(registry.register(entry('m1', 'Approved')).record.version).toBe(1);
    expect(registry.register(entry('m2', 'Rejected')).record.version).toBe(2);
    expect(fs.readdirSync(dir).sort()).toEqual(['m1.json', 'm2.json']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'm2.json'), 'utf8'))).toMatchObject({
      version: 2,
      modelVersion: 'm2',
      approvalStatus: 'Rejected',
      registeredAt: expect.any(String),
    });
  });

  test('registers the same model (content hash) once, keeping its first record', () => {
    const registry = new LocalModelRegistry(dir);
    registry.register(entry('m1', 'Approved'));
    const again = registry.register(entry('m1', 'Rejected'));
    expect(again).toMatchObject({ created: false, record: { version: 1, approvalStatus: 'Approved' } });
  });

  test('serves the newest approved version, skipping rejected ones', () => {
    const registry = new LocalModelRegistry(dir);
    expect(registry.newestApproved()).toBeUndefined();
    registry.register(entry('m1', 'Approved'));
    registry.register(entry('m2', 'Approved'));
    registry.register(entry('m3', 'Rejected'));
    expect(registry.newestApproved()?.modelVersion).toBe('m2');
  });
});
