/**
 * `accdiffusion info`: prints the library's model info (loading/model-info.ts describeModel for a folder,
 * loading/checkpoint-info.ts for a single file) with the execution providers available here, as text or JSON.
 * Nothing is read here: this file only reshapes the library's description for display.
 */
import { basename } from 'node:path';
import type { InfoView } from '../loading/model-info-view.js';

/** 1234567 → "1.23 M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** The human-readable text of `info`; `name`: how the user named the model (a repo id), default the folder's name. */
export function formatInfoView(info: InfoView, name = basename(info.path)): string {
  const lines = [
    `model:       ${name} (${info.path})`,
    `pipeline:    ${info.pipelineClass}`,
    `family:      ${info.family}`,
    `native size: ${info.nativeSize ?? '?'} px (latent ${info.nativeLatentSize ?? '?'}, VAE factor ${info.vaeScaleFactor ?? '?'})`,
    `parameters:  ${formatCount(info.parameters)}`,
    'components:',
  ];
  const width = Math.max(...info.components.map((c) => c.name.length));
  for (const c of info.components) {
    const weights = c.files.length > 0 ? `${formatCount(c.parameters).padStart(9)} params, ${c.dtypes.join('/')}` : 'no weights';
    const pickle = c.pickleFiles.length > 0 ? ` (pickle files ignored: ${c.pickleFiles.join(', ')})` : '';
    lines.push(`  ${c.name.padEnd(width)}  ${(c.className ?? '').padEnd(28)} ${weights}${pickle}`);
  }
  lines.push(`devices:     ${info.devices.join(', ')}`);
  return lines.join('\n');
}
