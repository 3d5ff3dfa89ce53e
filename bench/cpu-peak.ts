/**
 * The CPU's fp32 peak for bench:unet's "% of peak", from /proc/cpuinfo: the vector width from the flags
 * (avx512f → 512 bits, avx2+fma → 256) and the number of FMA pipes from what the vendors publish for the
 * CPU family (the flags do not tell it). Where the family is not in the table, the peak is unknown and
 * bench:unet prints no percentage.
 *
 * Sources: AMD's software optimization guides for families 17h (Zen 1: two 128-bit FMA pipes; Zen 2: two
 * 256-bit), 19h (Zen 3: two 256-bit; Zen 4: AVX-512 executed on the two 256-bit pipes) and 1Ah (Zen 5 server
 * and desktop: two full 512-bit FMA pipes); Intel's optimization manual (Haswell and later big cores: two
 * 256-bit FMA ports; AVX-512 parts have one or two 512-bit FMA units by SKU, which cpuinfo does not show).
 *
 * The clock is /proc/cpuinfo's "cpu MHz": in a virtual machine the nominal (base) clock; boost clocks are not
 * visible there, so a measured rate above 100% of this peak means the cores ran above the nominal clock.
 */

export interface CpuPeak {
  /** What was read and assumed, in one line. */
  readonly description: string;
  readonly vectorBits: 128 | 256 | 512;
  /** fp32 FLOP per cycle per core (2 × lanes × FMA pipes), undefined when the FMA pipe count is not known. */
  readonly flopsPerCycle?: number;
  /** Clock from cpuinfo in MHz, undefined when absent. */
  readonly mhz?: number;
  /** fp32 GFLOP/s over `cores` cores, undefined when either the FLOP/cycle or the clock is unknown. */
  readonly peakGflops?: number;
}

function field(cpuinfo: string, name: string): string | undefined {
  return new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim();
}

/** FMA pipes × their width in bits per core, by vendor and family/model; undefined when not known. */
function fmaBitsPerCycle(vendor: string | undefined, family: number, model: number, flags: Set<string>): { bits: number; why: string } | undefined {
  const avx512 = flags.has('avx512f');
  if (vendor === 'AuthenticAMD') {
    if (family === 0x17) return model < 0x30 ? { bits: 2 * 128, why: 'Zen 1: two 128-bit FMA pipes' } : { bits: 2 * 256, why: 'Zen 2: two 256-bit FMA pipes' };
    if (family === 0x19) return { bits: 2 * 256, why: avx512 ? 'Zen 4: AVX-512 on two 256-bit FMA pipes' : 'Zen 3: two 256-bit FMA pipes' };
    // Family 1Ah models 00h-1Fh (server) and 40h-4Fh (desktop) have the full 512-bit datapath; mobile parts do not.
    if (family === 0x1a && (model < 0x20 || (model >= 0x40 && model < 0x50))) return { bits: 2 * 512, why: 'Zen 5: two 512-bit FMA pipes' };
    return undefined;
  }
  if (vendor === 'GenuineIntel' && family === 6 && flags.has('fma') && !avx512) return { bits: 2 * 256, why: 'Intel big core: two 256-bit FMA ports' };
  return undefined;
}

/** Reads the peak model from cpuinfo text (the contents of /proc/cpuinfo) for `cores` busy cores. */
export function cpuPeak(cpuinfo: string, cores: number): CpuPeak {
  const flags = new Set((field(cpuinfo, 'flags') ?? '').split(/\s+/));
  const vectorBits = flags.has('avx512f') ? 512 : flags.has('avx2') ? 256 : 128;
  const vendor = field(cpuinfo, 'vendor_id');
  const family = Number(field(cpuinfo, 'cpu family') ?? NaN);
  const model = Number(field(cpuinfo, 'model') ?? NaN);
  const mhzText = field(cpuinfo, 'cpu MHz');
  const mhz = mhzText !== undefined && Number(mhzText) > 0 ? Number(mhzText) : undefined;
  const fma = flags.has('fma') || flags.has('avx512f') ? fmaBitsPerCycle(vendor, family, model, flags) : undefined;
  const isa = flags.has('avx512f') ? 'AVX-512' : flags.has('fma') ? 'AVX2+FMA' : flags.has('avx') ? 'AVX' : 'SSE';
  const cpu = `${vendor ?? 'unknown vendor'} family ${Number.isFinite(family) ? `0x${family.toString(16)}` : '?'} model ${Number.isFinite(model) ? `0x${model.toString(16)}` : '?'}, ${isa}`;
  if (!fma) {
    return { vectorBits, mhz, description: `${cpu}; FMA pipes per core not known for this CPU, so the fp32 peak is unknown` };
  }
  // Two FLOPs per FMA per fp32 lane; a 512-bit op on two 256-bit pipes counts as one pipe's worth per cycle.
  const flopsPerCycle = (2 * fma.bits) / 32;
  const clock = mhz !== undefined ? `${mhz} MHz (cpuinfo; nominal in a VM, boost not visible)` : 'clock unknown';
  const peakGflops = mhz !== undefined ? (cores * flopsPerCycle * mhz) / 1000 : undefined;
  return {
    vectorBits,
    flopsPerCycle,
    mhz,
    peakGflops,
    description: `${cpu}; ${fma.why} = ${flopsPerCycle} fp32 FLOP/cycle/core; ${clock}; ${cores} cores` +
      (peakGflops !== undefined ? ` → fp32 peak ≈ ${peakGflops.toFixed(0)} GFLOP/s` : ' → fp32 peak unknown'),
  };
}
