/**
 * `npm run bench:compare`: runs every method on one model at the same seed and size and writes one PNG
 * per method plus a Markdown table (time, UNet calls) — the README's comparison section. (Peak memory per
 * scale is bench:scale's job: it needs one process per run.)
 *
 *   npm run bench:compare -- [--model DIR] [--scale 4] [--steps 50] [--seed 42] [--out docs/images] [--prompt TEXT]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadPipeline } from '../src/pipeline/pipeline.js';
import { METHODS } from '../src/options/index.js';
import { defaultModelPath } from '../src/cli/args.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    scale: { type: 'string', default: '4' },
    steps: { type: 'string', default: '50' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: 'docs/images' },
    prompt: { type: 'string', default: 'a red circle and a blue square on a gray background' },
    methods: { type: 'string', default: METHODS.join(',') },
  },
});

const model = values.model ?? defaultModelPath();
mkdirSync(values.out!, { recursive: true });
const pipe = await loadPipeline(model);
const size = pipe.model.nativeSize * Number(values.scale);
const rows: string[] = [];
for (const method of values.methods!.split(',') as (typeof METHODS)[number][]) {
  const t = performance.now();
  const r = await pipe.generate({ prompt: values.prompt!, width: size, height: size, steps: Number(values.steps), seed: Number(values.seed), method });
  const seconds = (performance.now() - t) / 1000;
  const file = join(values.out!, `${method}.png`);
  await sharp(Buffer.from(r.image.rgb), { raw: { width: r.image.width, height: r.image.height, channels: 3 } }).png().toFile(file);
  rows.push(`| ${method} | ![${method}](${method}.png) | ${seconds.toFixed(1)} | ${r.report.unetCalls} |`);
  console.log(`${method}: ${seconds.toFixed(1)} s, ${r.report.unetCalls} UNet calls -> ${file}`);
}
await pipe.dispose();
const table = [`${size}x${size} px, ${values.steps} steps, seed ${values.seed}, prompt "${values.prompt}"`, '', '| method | image | seconds | UNet calls |', '| --- | --- | ---: | ---: |', ...rows].join('\n');
writeFileSync(join(values.out!, 'comparison.md'), `${table}\n`);
console.log(table);
