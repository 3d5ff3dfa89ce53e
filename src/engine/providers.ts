/**
 * Device names the user picks (cpu, cuda, webgpu) mapped to onnxruntime-node execution providers, with
 * a clear error when the installed onnxruntime lacks one.
 */
import * as ort from 'onnxruntime-node';
import { ProviderError } from '../errors.js';

export type Device = 'cpu' | 'cuda' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

/** Execution providers this onnxruntime-node build lists as supported. */
export function availableDevices(): Device[] {
  const backends = ort.listSupportedBackends?.() ?? [];
  const names = new Set(backends.map((b) => b.name));
  return DEVICES.filter((d) => d === 'cpu' || names.has(d));
}

/** The executionProviders list for a session on `device`. */
export function executionProviders(device: Device): string[] {
  if (!DEVICES.includes(device)) throw new ProviderError(`unknown device "${device}" (choose ${DEVICES.join(', ')})`);
  if (device === 'cpu') return ['cpu'];
  if (!availableDevices().includes(device)) {
    const hint = device === 'cuda' ? ' (install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 and a CUDA 12 runtime)' : '';
    throw new ProviderError(`device "${device}" is not supported by the installed onnxruntime-node${hint}`);
  }
  return [device, 'cpu'];
}
