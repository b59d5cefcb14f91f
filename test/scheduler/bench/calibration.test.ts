// The calibration anchors of `npm run sim:calibrate`, each held within its tolerance on the shared-prefix
// workload's own seed (docs/simulator.md gives seeds 1–5).
import { describe, expect, it } from 'vitest';
import {
  calibrationRows,
  runCalibrationLadders,
  withinTolerance,
} from '../../../scheduler/bench/calibration.ts';

describe('simulator calibration', () => {
  it('holds every anchor within its tolerance', { timeout: 180_000 }, () => {
    const rows = calibrationRows(runCalibrationLadders());
    expect(rows.map((row) => row.name)).toHaveLength(8);
    const outside = rows
      .filter((row) => !withinTolerance(row))
      .map((row) => `${row.name}: ${String(row.simulated)} not in [${row.tolerance.join(', ')}]`);
    expect(outside).toEqual([]);
  });
});
