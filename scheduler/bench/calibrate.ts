// `npm run sim:calibrate [-- --seed N]`: prints every calibration anchor beside the simulated value and its
// tolerance, exits non-zero when one is outside it, and then prints the published figures reported beside the
// simulator without a tolerance.
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import {
  calibrationRows,
  formatCalibration,
  formatReported,
  reportedRows,
  runCalibrationLadders,
  withinTolerance,
} from './calibration.ts';

const program = new Command('sim:calibrate')
  .description('Simulator calibration anchors, published beside simulated')
  .option('--seed <n>', 'seed of the shared-prefix ladders instead of the workload’s')
  .parse();
const options = program.opts<{ seed?: string }>();
const seed = options.seed === undefined ? undefined : Number(options.seed);
if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) {
  console.error(`sim:calibrate: --seed: expected a non-negative integer, got "${String(options.seed)}"`);
  process.exit(1);
}
const started = performance.now();
const ladders = runCalibrationLadders(seed);
const rows = calibrationRows(ladders);
console.log(formatCalibration(rows));
console.log('');
console.log(formatReported(reportedRows(ladders)));
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (!rows.every(withinTolerance)) process.exitCode = 1;
