/**
 * Estimates of full 50-step AccDiffusion runs at 2048² and 4096² with an SDXL-size model, from the rows
 * gpu-runs.js appended to a JSON-lines file (`node dist/bench/gpu-estimate.js runs.jsonl [--steps 50]`):
 *
 * - seconds per UNet row, per stage kind, from the random-weight SDXL run at 2048² (steady steps: the first
 *   step of a stage also opens its sessions and is counted once, as a fixed cost);
 * - UNet rows per step of every stage at 4096² from the tiny-sdxl run at 4x: the default stride is half the
 *   native latent, so tiny-sdxl at scale s has the same windows and dilated samples as SDXL at scale s
 *   (src/options/), only smaller;
 * - stage 1 (the native pass) costs its own per-row time, every later stage the window per-row time (windows
 *   and dilated samples are native-size latents);
 * - decode: the 2048² run's last-stage decode, scaled by pixel area.
 * Prints one line per estimate with its parts, for docs and the README's speed section.
 */
import { readFileSync } from 'node:fs';

interface StageRow {
  readonly stage: number;
  readonly width: number;
  readonly height: number;
  readonly unetCallsPerStep: number;
  readonly stepSeconds: readonly number[];
  readonly steadySecondsPerStep: number;
  readonly seconds: { readonly denoise: number; readonly decode: number };
}
interface RunRow {
  readonly model: string;
  readonly width: number;
  readonly height: number;
  readonly encodeSeconds: number;
  readonly stages: readonly StageRow[];
}

/** The estimate lines for `runs`; explains what is missing instead when a needed run is absent. */
export function estimates(runs: readonly RunRow[], steps: number): string[] {
  const big = runs.find((r) => r.model.startsWith('random-') && r.stages.length >= 2);
  if (!big) return ['estimate: no random-weight run with two stages finished, nothing to estimate from'];
  const native = big.stages[0]!;
  const window = big.stages[big.stages.length - 1]!;
  const perRowNative = native.steadySecondsPerStep / native.unetCallsPerStep;
  const perRowWindow = window.steadySecondsPerStep / window.unetCallsPerStep;
  const openCost = big.stages.reduce((a, s) => a + Math.max(0, (s.stepSeconds[0] ?? 0) - s.steadySecondsPerStep), 0);
  const decodePerPixel = window.seconds.decode / (window.width * window.height);
  const out: string[] = [
    `per UNet row: native pass ${perRowNative.toFixed(4)} s, windows ${perRowWindow.toFixed(4)} s (${big.model} ${big.width}x${big.height}); sessions opened in first steps +${openCost.toFixed(1)} s; decode ${(decodePerPixel * 1e6).toFixed(3)} s per megapixel`,
  ];
  const estimate = (label: string, rowsPerStep: readonly number[], finalPixels: number): void => {
    const denoise = rowsPerStep.reduce((a, rows, i) => a + rows * steps * (i === 0 ? perRowNative : perRowWindow), 0);
    const decode = decodePerPixel * finalPixels;
    const total = denoise + decode + openCost + big.encodeSeconds;
    out.push(`${label}: ${steps} steps per stage, UNet rows per step ${rowsPerStep.join(' + ')} → denoise ${denoise.toFixed(0)} s + decode ${decode.toFixed(0)} s + sessions ${openCost.toFixed(0)} s = ${total.toFixed(0)} s (${(total / 60).toFixed(1)} min), model load not counted`);
  };
  estimate(`estimate ${big.width}x${big.height}`, big.stages.map((s) => s.unetCallsPerStep), big.width * big.height);
  const tiny4 = runs.find((r) => /(^|\/)tiny-sdxl\/?$/.test(r.model) && r.stages.length === 4);
  if (tiny4) {
    // tiny-sdxl's native size → the big model's: the same stages in the big model's pixels (4096² for SDXL).
    const f = big.stages[0]!.width / tiny4.stages[0]!.width;
    const size = `${tiny4.width * f}x${tiny4.height * f}`;
    estimate(`estimate ${size} (rows per step from tiny-sdxl at 4x)`, tiny4.stages.map((s) => s.unetCallsPerStep), tiny4.width * tiny4.height * f * f);
  } else out.push('estimate at 4x: no tiny-sdxl 4x run finished');
  return out;
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: gpu-estimate.js RUNS.jsonl [--steps N]');
  const i = process.argv.indexOf('--steps');
  const steps = i > 0 ? Number(process.argv[i + 1]) : 50;
  const runs = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RunRow);
  for (const line of estimates(runs, steps)) console.log(line);
}

main();
