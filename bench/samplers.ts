/**
 * `npm run bench:samplers`: AccDiffusion at 4x on one model (default the bundled one) with Euler at 50
 * steps against DPM++ 2M Karras at 20 and 25 steps, same seed and prompt: wall time, UNet calls, and the
 * pixel difference of each image from the Euler-50 one (mean and max absolute difference in 8-bit levels over RGB, PSNR).
 * The README's "Samplers" figures come from it.
 *
 *   npm run bench:samplers -- [--model DIR] [--scale 4] [--seed 42] [--prompt TEXT] [--runs euler:50,dpmpp-2m-karras:20,...] [--out DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { defaultModelPath } from '../src/cli/args.js';
import { loadPipeline } from '../src/pipeline/pipeline.js';
import { parseSchedulerName } from '../src/schedulers/names.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    scale: { type: 'string', default: '4' },
    seed: { type: 'string', default: '42' },
    prompt: { type: 'string', default: 'a red circle and a blue square on a gray background' },
    runs: { type: 'string', default: 'euler:50,dpmpp-2m-karras:20,dpmpp-2m-karras:25' },
    out: { type: 'string' },
  },
});

/** Mean and max |a − b| in 8-bit levels, and PSNR in dB, over two RGB images of the same size. */
function pixelDifference(a: Uint8Array, b: Uint8Array): { mean: number; max: number; psnr: number } {
  let sum = 0;
  let sq = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    sq += d * d;
    if (d > max) max = d;
  }
  const mse = sq / a.length;
  return { mean: sum / a.length, max, psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse) };
}

const model = values.model ?? defaultModelPath();
const runs = values.runs!.split(',').map((r) => {
  const [name, steps] = r.split(':');
  return { scheduler: parseSchedulerName(name!), steps: Number(steps) };
});
if (values.out) mkdirSync(values.out, { recursive: true });
const pipe = await loadPipeline(model);
const size = pipe.model.nativeSize * Number(values.scale);
const images: Uint8Array[] = [];
const rows: string[] = [];
for (const r of runs) {
  const t = performance.now();
  const res = await pipe.generate({ prompt: values.prompt!, width: size, height: size, steps: r.steps, seed: Number(values.seed), scheduler: r.scheduler, method: 'accdiffusion' });
  const seconds = (performance.now() - t) / 1000;
  images.push(res.image.rgb);
  const d = pixelDifference(res.image.rgb, images[0]!);
  rows.push(`| ${r.scheduler} | ${r.steps} | ${res.report.unetCalls} | ${seconds.toFixed(1)} | ${images.length === 1 ? '(reference)' : `${d.mean.toFixed(2)} / ${d.max} / ${d.psnr.toFixed(1)} dB`} |`);
  console.log(rows[rows.length - 1]);
  if (values.out) {
    await sharp(Buffer.from(res.image.rgb), { raw: { width: res.image.width, height: res.image.height, channels: 3 } }).png().toFile(join(values.out, `${r.scheduler}-${r.steps}.png`));
  }
}
await pipe.dispose();
console.log([
  '',
  `accdiffusion ${size}x${size} px (${values.scale}x), seed ${values.seed}, prompt "${values.prompt}", model ${model}`,
  '',
  '| scheduler | steps per stage | UNet calls | wall s | vs the first run: mean / max abs. difference (8-bit levels), PSNR |',
  '| --- | ---: | ---: | ---: | --- |',
  ...rows,
].join('\n'));
