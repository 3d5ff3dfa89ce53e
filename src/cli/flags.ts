/**
 * The flag table of the `accdiffusion` command line (issues 4 and 5): the `generate` and `info`
 * subcommands, their options, help texts and shown defaults, declared with commander. Values come out
 * raw (strings and switches); args.ts checks them and builds the typed commands. Defaults follow the
 * reference CLI (accdiffusion_sdxl.py) through src/pipeline/options.ts.
 */
import { Command, Option } from 'commander';
import { METHODS, REFERENCE_NEGATIVE_PROMPT, SCHEDULERS } from '../pipeline/options.js';
import type { Device } from '../engine/providers.js';
import { packageVersion } from './package-info.js';
import { addModelFileFlags } from './model-file-flags.js';

/** Device names, kept here so parsing never loads onnxruntime (src/engine/providers.ts has the same list). */
export const CLI_DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

/** Default --scale when neither --scale nor --width/--height is given: the reference's 1024 → 2048. */
export const DEFAULT_SCALE = 2;

/** Default img2img strength of `upscale`, the same as resolveOptions' (measured on the bundled model: docs/upscale.md). */
export const DEFAULT_STRENGTH = 0.5;

/** Default seed, the same as resolveOptions' (the reference CLI's). */
export const DEFAULT_SEED = 42;

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
    .option('--model <folder|repo|file>', MODEL_HELP)
    .requiredOption('--prompt <text>', 'what to draw');
  addGenerationFlags(generate, `target = native size × n (default ${DEFAULT_SCALE} when no --width/--height)`)
    .action((opts: RawGenerateOptions, cmd: Command) => handlers.generate(opts, cmd));
  addModelFileFlags(generate);

  // upscale: generate's flags, with the user's image as the first pass's start (issue 14)
  const upscale = program
    .command('upscale')
    .description('upscale your own image: img2img into the chosen method')
    .requiredOption('--image <file>', 'input image (PNG, JPEG, WebP; alpha flattened onto white)')
    .option('--model <folder|repo|file>', MODEL_HELP)
    .option('--prompt <text>', 'what the image shows (required for accdiffusion)')
    .option('--input-residual', 'stages no larger than the input take its own encoding as the skip-residual source (docs/upscale.md)', false)
    .option('--strength <x>', `how much of the first pass's schedule re-noises the input, in [0, 1] (default ${DEFAULT_STRENGTH})`);
  addGenerationFlags(upscale, `target = input size × n (default ${DEFAULT_SCALE} when no --width/--height)`)
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

/** The flags `generate` and `upscale` share (everything after the prompt). */
function addGenerationFlags(cmd: Command, scaleHelp: string): Command {
  return cmd
    .option('--negative-prompt <text>', `negative prompt (default "${REFERENCE_NEGATIVE_PROMPT}")`)
    .option('--no-negative-prompt', 'no negative prompt at all')
    .option('--no-prompt-weighting', 'take the prompt literally and cut it at 77 tokens, as diffusers (default: A1111 (word:1.2) syntax, long prompts in 75-token chunks)')
    .option('--max-prompt-chunks <n>', 'most 75-token chunks per prompt when weighting (default 4)')
    .option('--width <px>', 'target width in pixels (multiple of 8)')
    .option('--height <px>', 'target height in pixels (multiple of 8)')
    .option('--scale <n>', scaleHelp)
    .option('--method <name>', `one of ${METHODS.join(', ')}`, 'accdiffusion')
    .option('--steps <n>', 'denoising steps per stage (default 50)')
    .option('--guidance <x>', 'CFG scale of the native pass and dilated branch (default 7.5)')
    .option('--multi-guidance <x>', 'CFG scale of the patch branch (default 7.5)')
    .option('--guidance-rescale <x>', 'diffusers guidance_rescale in [0, 1] (default 0)')
    .option('--scheduler <name>', `${SCHEDULERS.join(', ')} or an A1111/diffusers name; "help" lists them (default: the model's scheduler)`)
    .option('--seed <n>', `random seed (default ${DEFAULT_SEED})`)
    .option('--c <x>', 'attention-ratio threshold of patch prompts (default 0.3)')
    .option('--stride <cells>', 'window stride in latent cells of demofusion/multidiffusion and of accdiffusion with --no-patch-prompts (default: half the native latent size; patch-prompt windows always use half)')
    .option('--view-batch-size <n>', 'windows per batch; sets which dilated sub-latents trade values in window interaction (default 16)')
    .option('--cosine-scale-1 <x>', 'exponent of the skip-residual factor (default 3)')
    .option('--cosine-scale-2 <x>', 'exponent of the dilated-sampling factor (default 1)')
    .option('--cosine-scale-3 <x>', 'exponent of the blur factor (default 1)')
    .option('--sigma <x>', 'Gaussian blur std before dilated sampling (default 0.8)')
    .option('--no-patch-prompts', 'same prompt in every window (ablation)')
    .option('--no-window-interaction', 'no window interaction in dilated sampling (ablation)')
    .option('--window-prompts <file.json>', 'per-stage window prompts {"2": ["...", ...]} replacing AccDiffusion\'s (or a --report file)')
    .option('--reference-compat', 'reproduce the reference code\'s scheduler input-scaling quirk', false)
    .option('--init-latents <file>', 'safetensors with tensor "latents" [1,4,h,w] float32 for the native pass')
    .option('--save-latents <file>', 'write final and per-stage latents (safetensors)')
    .option('--save-stages <dir>', 'write every stage image, token masks and patch-prompt maps')
    .option('--report <file>', 'write a JSON report (parameters, window prompts, timings, UNet calls, memory)')
    .option('--out <file>', 'output PNG (default accdiffusion-<seed>.png; upscale: <input name>-upscaled.png)')
    .option('--force', 'overwrite existing output files; allow very large sizes', false)
    .addOption(new Option('--device <name>', `execution provider: ${CLI_DEVICES.join(', ')}`).default('cpu'))
    .option('--threads <n>', 'intra-op threads per session')
    .option('--quiet', 'print nothing but errors', false)
    .option('--json', 'progress as one JSON object per line on stdout', false)
    .option('--state-dir <dir>', 'keep each finished stage here so an interrupted run can --resume')
    .option('--resume', 'continue from the last finished stage in --state-dir', false);
}
