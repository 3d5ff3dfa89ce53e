/**
 * The `accdiffusion` command line (issues 4 and 5): the `generate`, `upscale` and `info` subcommands,
 * declared with commander. The generation flags, their help texts and defaults come from the option table
 * (src/options/option-table.ts) through generation-flags.ts. Values come out raw (strings and switches);
 * args.ts converts them and builds the typed commands.
 */
import { Command } from 'commander';
import { tableDefault } from '../options/option-table.js';
import { packageVersion } from '../loading/package-root.js';
import { addModelFileFlags } from './model-file-flags.js';
import { addGenerationFlags, addOptionFlag } from './generation-flags.js';

export { CLI_DEVICES, DEFAULT_SCALE } from './generation-flags.js';

/** Default img2img strength of `upscale`: the option table's (measured on the bundled model: docs/upscale.md). */
export const DEFAULT_STRENGTH = tableDefault('strength') as number;

/** Default seed: the option table's (the reference CLI's). */
export const DEFAULT_SEED = tableDefault('seed') as number;

/** `generate`'s option values as commander gives them, keyed by camelCased flag name. */
export type RawGenerateOptions = Record<string, string | boolean | undefined>;

/** `info`'s option values as commander gives them. */
export interface RawInfoOptions {
  model?: string;
  config?: string;
  predictionType?: string;
  image?: string;
  json: boolean;
}

/** What runs when a subcommand was parsed; errors thrown here end the parse. */
export interface FlagHandlers {
  generate(opts: RawGenerateOptions, cmd: Command): void;
  info(opts: RawInfoOptions): void;
  upscale(opts: RawGenerateOptions, cmd: Command): void;
}

/** The `accdiffusion` program; help and version text go to `writeOut` (default process.stdout). */
export function buildProgram(writeOut: ((text: string) => void) | undefined, handlers: FlagHandlers): Command {
  const program = new Command('accdiffusion')
    .description('High-resolution images from Stable Diffusion / SDXL model folders with AccDiffusion')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({
      writeOut: writeOut ?? ((s) => process.stdout.write(s)),
      // commander's own error text is replaced by our OptionsError message; see parseArgs (args.ts).
      writeErr: () => {},
      outputError: () => {},
    })
    .addHelpText('after', '\nThe local web page: accdiffusion serve [--host --port --models <dir...> --outputs <dir>] (see accdiffusion serve --help)')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);

  const MODEL_HELP = 'model folder, Hugging Face repo id in the local cache, or single-file .safetensors checkpoint (default: the bundled shapes-xl)';
  const generate = program
    .command('generate')
    .description('generate an image at a size above the model\'s native one')
    .option('--model <folder|repo|file>', MODEL_HELP);
  addOptionFlag(generate, 'prompt', { required: true });
  addGenerationFlags(generate, 'generate')
    .action((opts: RawGenerateOptions, cmd: Command) => handlers.generate(opts, cmd));
  addModelFileFlags(generate);

  // upscale: generate's flags, with the user's image as the first pass's start (issue 14)
  const upscale = program
    .command('upscale')
    .description('upscale your own image: img2img into the chosen method');
  addOptionFlag(upscale, 'image', { required: true });
  upscale.option('--model <folder|repo|file>', MODEL_HELP);
  addOptionFlag(upscale, 'prompt', { help: 'what the image shows (required for accdiffusion)' });
  addOptionFlag(upscale, 'inputResidual');
  addOptionFlag(upscale, 'strength');
  addGenerationFlags(upscale, 'upscale')
    .action((opts: RawGenerateOptions, cmd: Command) => handlers.upscale(opts, cmd));
  addModelFileFlags(upscale);

  const info = program
    .command('info')
    .description('describe a model: family, native size, components, dtypes, parameters, devices')
    .option('--model <folder|repo|file>', MODEL_HELP)
    .option('--image <file.png>', 'print the generation parameters stored in a PNG instead')
    .option('--json', 'print JSON', false)
    .action((opts: RawInfoOptions) => handlers.info(opts));
  addModelFileFlags(info);

  return program;
}
