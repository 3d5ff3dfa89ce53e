/**
 * An option's help text as the CLI's --help and the page show it, from its table row: the row's help with
 * its default, or its flag's own help (a --no-x switch says what turning it off does). Commander adds
 * "(default: …)" itself for the defaults it holds (a choice's, a plain switch's false): see commanderDefault.
 */
import { OPTION_TABLE, type OptionKey } from './option-table.js';

/** The default commander holds for the flag (shown by it as `(default: …)`), or undefined. */
export function commanderDefault(key: OptionKey): string | boolean | undefined {
  const spec = OPTION_TABLE[key];
  const d = spec.default;
  if (spec.cli === undefined || spec.cli.help !== undefined || typeof d === 'function') return undefined;
  if (spec.kind === 'choice' && typeof d === 'string') return d;
  if (spec.kind === 'boolean' && d === false && !spec.cli.flag.startsWith('--no-')) return false;
  return undefined;
}

/** "attention-ratio threshold of patch prompts (default 0.3)", "… (default: half the native latent size; …)". */
export function optionHelp(key: OptionKey): string {
  const spec = OPTION_TABLE[key];
  if (spec.cli?.help !== undefined) return spec.cli.help;
  if (commanderDefault(key) !== undefined) return spec.help;
  if (spec.defaultText !== undefined) return `${spec.help} (default: ${spec.defaultText})`;
  const d = spec.default;
  if (typeof d === 'number' || typeof d === 'boolean') return `${spec.help} (default ${d})`;
  if (typeof d === 'string') return `${spec.help} (default ${JSON.stringify(d)})`;
  return spec.help;
}
