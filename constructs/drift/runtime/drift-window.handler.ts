/**
 * The drift check's first step: the window a scheduled run reads (drift-window.ts). No AWS calls: the state
 * machine passes everything it needs.
 */
import { DriftWindow, driftWindow, DriftWindowRequest } from './drift-window';

export async function handler(event: DriftWindowRequest): Promise<DriftWindow> {
  return driftWindow(event);
}
