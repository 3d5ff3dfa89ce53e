import test from 'node:test';
import assert from 'node:assert/strict';
import { cpuPeak } from '../../bench/cpu-peak.js';
import { unetGflop } from '../../bench/unet-flops.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition.js';
import { SD15_UNET_CONFIG, SDXL_UNET_CONFIG } from '../../bench/unet-configs.js';

/** A /proc/cpuinfo excerpt (one processor block). */
function cpuinfo(vendor: string, family: number, model: number, flags: string, mhz?: number): string {
  return [`vendor_id\t: ${vendor}`, `cpu family\t: ${family}`, `model\t\t: ${model}`, 'model name\t: test', ...(mhz ? [`cpu MHz\t\t: ${mhz}`] : []), `flags\t\t: fpu sse2 ${flags}`].join('\n');
}

test('cpu peak follows the vector width and FMA pipes: the AVX-512 Zen 5 machine of issue 11 is 64 FLOP/cycle, not AVX2\'s 32', () => {
  // The machine that reported "fp32 peak ≈ 134 GFLOP/s (AVX2 FMA)" and then "201% of peak" (bench:unet, 2 threads).
  const zen5 = cpuPeak(cpuinfo('AuthenticAMD', 26, 2, 'avx avx2 fma avx512f avx512bw', 2096.003), 2);
  assert.equal(zen5.vectorBits, 512);
  assert.equal(zen5.flopsPerCycle, 64);
  assert.ok(Math.abs(zen5.peakGflops! - 268.288) < 0.01, String(zen5.peakGflops));
  // 269.7 GFLOP/s measured there is then 100.5% of the nominal-clock peak (the rest is boost above 2096 MHz).
  assert.equal(((100 * 269.7) / zen5.peakGflops!).toFixed(1), '100.5');
  // Zen 4 runs AVX-512 on two 256-bit pipes; Zen 3 and Intel AVX2 cores have two 256-bit FMA pipes; Zen 1 two 128-bit.
  assert.equal(cpuPeak(cpuinfo('AuthenticAMD', 25, 17, 'avx avx2 fma avx512f', 3000), 1).flopsPerCycle, 32);
  assert.equal(cpuPeak(cpuinfo('AuthenticAMD', 25, 1, 'avx avx2 fma', 3000), 1).flopsPerCycle, 32);
  assert.equal(cpuPeak(cpuinfo('AuthenticAMD', 23, 1, 'avx avx2 fma', 2000), 4).peakGflops, 4 * 16 * 2);
  assert.equal(cpuPeak(cpuinfo('GenuineIntel', 6, 85, 'avx avx2 fma', 2000), 1).flopsPerCycle, 32);
});

test('cpu peak says it does not know where the flags do not tell the FMA pipes or the clock is missing', () => {
  // Intel AVX-512 parts have one or two 512-bit FMA units depending on the SKU.
  const intel512 = cpuPeak(cpuinfo('GenuineIntel', 6, 85, 'avx avx2 fma avx512f', 2000), 2);
  assert.equal(intel512.vectorBits, 512);
  assert.equal(intel512.flopsPerCycle, undefined);
  assert.equal(intel512.peakGflops, undefined);
  assert.match(intel512.description, /peak is unknown/);
  const noClock = cpuPeak(cpuinfo('AuthenticAMD', 26, 2, 'avx avx2 fma avx512f'), 2);
  assert.equal(noClock.flopsPerCycle, 64);
  assert.equal(noClock.peakGflops, undefined);
  assert.match(noClock.description, /clock unknown.*peak unknown/);
});

test('UNet FLOPs counted from parameter shapes match PyTorch\'s 1607 GFLOP for SD1.5 at 64x64, batch 2', () => {
  const sd15 = new UNet2DConditionModel(parseUNet2DConditionConfig(SD15_UNET_CONFIG, 'sd15'));
  const at = (latent: number, batch: number): number => unetGflop(sd15, { height: latent, width: latent, batch, contextLength: 77, levels: 4 });
  assert.ok(Math.abs(at(64, 2) - 1607) / 1607 < 0.001, String(at(64, 2)));
  assert.ok(Math.abs(at(64, 4) - 2 * at(64, 2)) < 1e-6);
  // Attention grows with the square of the token count: more than 4x the FLOPs at twice the side.
  assert.ok(at(128, 2) > 4 * at(64, 2));
  const sdxl = new UNet2DConditionModel(parseUNet2DConditionConfig(SDXL_UNET_CONFIG, 'sdxl'));
  assert.equal(sdxl.parameterCount(), 2567463684); // diffusers' SDXL base UNet: 2,567,463,684 parameters
});
