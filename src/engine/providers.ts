/**
 * Device names the user picks (cpu, cuda, webgpu) mapped to onnxruntime-node execution providers.
 * onnxruntime-node lists CUDA and WebGPU as supported whenever they are compiled in, even when the CUDA
 * libraries (installed only with ONNXRUNTIME_NODE_INSTALL=cuda12) or a GPU adapter are missing, so a
 * device counts as available only after a one-node session has really run on it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ProviderError } from '../errors.js';
import { GraphBuilder } from '../graph/builder.js';

export type Device = 'cpu' | 'cuda' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

const HINTS: Record<Device, string> = {
  cpu: '',
  cuda: 'install its libraries with ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --dangerously-allow-all-scripts (needs an NVIDIA GPU with CUDA 12 and cuDNN 9)',
  webgpu: 'needs a GPU adapter reachable through Vulkan (libvulkan.so.1 and a driver)',
};

/**
 * The folder of onnxruntime-node's native binding, where its installer puts the CUDA provider libraries
 * (undefined where the layout is not the known one: then the probe decides alone).
 */
function ortBindingDir(): string | undefined {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Where Linux distributions put the Vulkan loader. */
const VULKAN_PATHS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1', '/usr/local/lib/libvulkan.so.1'];

/** The system locations plus every LD_LIBRARY_PATH folder (a loader carried with the app). */
function vulkanLoaderPaths(): string[] {
  const extra = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean).map((d) => `${d}/libvulkan.so.1`);
  return [...extra, ...VULKAN_PATHS];
}

const probes = new Map<Device, Promise<string | undefined>>();

/** Runs a one-node graph on `device`; resolves to undefined when it works, else to the reason. */
export function probeDevice(device: Device): Promise<string | undefined> {
  let p = probes.get(device);
  if (!p) {
    p = (async () => {
      if (device === 'cpu') return undefined;
      const names = new Set((ort.listSupportedBackends?.() ?? []).map((b) => b.name));
      if (!names.has(device)) return 'not compiled into this onnxruntime-node build';
      // Dawn prints a native warning when it cannot load Vulkan; on Linux, say so ourselves instead of probing.
      if (device === 'webgpu' && process.platform === 'linux' && !vulkanLoaderPaths().some((p) => existsSync(p))) return 'libvulkan.so.1 not found';
      // Without its provider libraries a CUDA session fails after onnxruntime's process-wide logger printed the
      // failure (a per-session log level does not reach it); say why without trying.
      const bindingDir = ortBindingDir();
      if (device === 'cuda' && bindingDir && existsSync(join(bindingDir, 'onnxruntime_binding.node')) && !existsSync(join(bindingDir, 'libonnxruntime_providers_shared.so')) && process.platform === 'linux') {
        return 'CUDA provider libraries not installed';
      }
      const g = new GraphBuilder('probe');
      g.output(g.op('Relu', [g.input('x', 'float32', [1])]), 'y');
      // A provider that fails to load may also log through onnxruntime's process-wide logger; that logger
      // belongs to the host (the CLI quiets it in cli/host-process.ts), so only this session's level is set.
      try {
        // logSeverityLevel 4: keep onnxruntime's own error log of the failed provider off the console.
        const s = await ort.InferenceSession.create(g.toModelProto(), { executionProviders: [device], logSeverityLevel: 4 });
        await s.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
        await s.release();
        return undefined;
      } catch (e) {
        return String((e as Error).message ?? e).split('\n')[0]!.slice(0, 160);
      }
    })();
    probes.set(device, p);
  }
  return p;
}

/**
 * Whether onnxruntime's fused MultiHeadAttention (com.microsoft) matches PyTorch's attention on `device`.
 * Its WebGPU kernel does not: max abs diff 1.2e-2 on the tiny-sd UNet and 2.2e-3 on its VAE decoder against
 * diffusers, where MatMul-Softmax-MatMul attention on the same provider stays at 5e-6 (docs/gpu.md, measured
 * through Mesa's software Vulkan). Graphs for such a device are built with explicit attention.
 */
export function fusedAttentionAccurate(device: Device | undefined): boolean {
  return device !== 'webgpu';
}

/**
 * Keeps onnxruntime's process-wide logger to fatal messages: a provider that fails to load logs through it although
 * the failure also comes back as an exception. For a host that owns its process (the CLI); the library never calls it.
 */
export function quietProcessLogger(): void {
  ort.env.logLevel = 'fatal';
}

/** Devices that really work on this machine. */
export async function availableDevices(): Promise<Device[]> {
  const ok: Device[] = [];
  for (const d of DEVICES) if ((await probeDevice(d)) === undefined) ok.push(d);
  return ok;
}

/** The executionProviders list for a session on `device` (fails with a ProviderError when it does not work here). */
export async function executionProviders(device: Device): Promise<string[]> {
  if (!DEVICES.includes(device)) throw new ProviderError(`unknown device "${device}" (choose ${DEVICES.join(', ')})`);
  if (device === 'cpu') return ['cpu'];
  const reason = await probeDevice(device);
  if (reason !== undefined) throw new ProviderError(`device "${device}" does not work with the installed onnxruntime-node: ${reason}; ${HINTS[device]}`);
  return [device, 'cpu'];
}
