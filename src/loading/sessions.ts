/**
 * Every onnxruntime session of a model is opened here: the text encoders, the UNet graph variants (plain,
 * capturing cross-attention maps, Attn-SF / ScaleCrafter builds) and the VAE decoder and encoder. Each function
 * takes a module tree with bound weights (src/models/), builds its graph (src/graph/) and opens it with
 * src/engine/, so the model definitions never meet the runtime (STYLE.md example 2: stable-diffusion.cpp's
 * `UnetModelBlock` vs `UNetModelRunner`, transformers.js `models/session.js`).
 */
import { fusedAttentionAccurate, type Device } from '../engine/providers.js';
import { ModelSession } from '../engine/session.js';
import { ConfigError } from '../errors.js';
import { buildVaeDecodeGraph, buildVaeEncodeGraph, type AutoencoderKL } from '../models/autoencoder-kl.js';
import { buildCLIPTextGraph, type CLIPTextModel } from '../models/clip-text-model.js';
import { buildUNetGraph, type UNet2DConditionModel, type UNetGraphOptions } from '../models/unet-2d-condition.js';
import type { TextEncoderPart, TextEncoderRole } from '../prompts/prompt-encoder.js';
import type { CLIPTokenizer } from '../tokenizers/clip-tokenizer.js';

/** Where sessions run: the execution provider and the intra-op thread count (onnxruntime's default when absent). */
export interface SessionPlace {
  readonly device?: Device;
  readonly threads?: number;
}

function placeOf(place: SessionPlace): SessionPlace {
  return { ...(place.device ? { device: place.device } : {}), ...(place.threads ? { threads: place.threads } : {}) };
}

/** A text encoder bound to its weights, with the role prompt encoding gives it. */
export interface TextEncoderToOpen {
  readonly role: TextEncoderRole;
  readonly model: CLIPTextModel;
  readonly weightsDir: string;
  readonly tokenizer: CLIPTokenizer;
  /** Named in the error when the tokenizer is longer than the encoder's positions (the tokenizer folder or the config source). */
  readonly tokenizerSource: string;
}

/**
 * Opens a text encoder's session whose graph emits only the outputs its role uses (input `input_ids` int64
 * [B, S], S = the tokenizer's model_max_length).
 * @throws ConfigError when the tokenizer's model_max_length exceeds the encoder's max_position_embeddings.
 */
export async function openTextEncoderSession(te: TextEncoderToOpen, place: SessionPlace): Promise<TextEncoderPart> {
  const { role, model, tokenizer } = te;
  const config = model.config;
  if (tokenizer.maxLength > config.max_position_embeddings) {
    throw new ConfigError(`${te.tokenizerSource}: model_max_length ${tokenizer.maxLength} exceeds ${role.component}'s max_position_embeddings ${config.max_position_embeddings}`);
  }
  const outputs = role.pooled ? [role.hiddenState, role.pooled] : [role.hiddenState];
  const graph = buildCLIPTextGraph(model, { outputs, seqLen: tokenizer.maxLength });
  const session = await ModelSession.create(graph.toModelProto(), { weightsDir: te.weightsDir, ...placeOf(place) });
  return {
    role, tokenizer, session, hiddenSize: config.hidden_size,
    ...(role.pooled === 'text_embeds' ? { pooledSize: config.projection_dim } : role.pooled ? { pooledSize: config.hidden_size } : {}),
  };
}

/** Opens every text encoder in order; on a failure the ones already open are released before rethrowing. */
export async function openTextEncoderSessions(encoders: Iterable<TextEncoderToOpen>, place: SessionPlace): Promise<TextEncoderPart[]> {
  const parts: TextEncoderPart[] = [];
  try {
    for (const te of encoders) parts.push(await openTextEncoderSession(te, place));
  } catch (e) {
    for (const p of parts) await p.session.release?.();
    throw e;
  }
  return parts;
}

/**
 * Opens a UNet graph variant (inputs `sample`, `timestep`, `encoder_hidden_states` [+ `text_embeds`, `time_ids`];
 * output `out_sample` [+ attention maps]). Fused attention is used where it is accurate on the device.
 */
export async function openUNetSession(model: UNet2DConditionModel, weightsDir: string, graph: UNetGraphOptions, place: SessionPlace): Promise<ModelSession> {
  const attention = fusedAttentionAccurate(place.device) ? {} : { attention: 'explicit' as const };
  const g = buildUNetGraph(model, { ...attention, ...graph });
  // The UNet sees several batch shapes per stage; per-shape memory plans would make memory grow with the target.
  return ModelSession.create(g.toModelProto(), { weightsDir, memoryPattern: false, ...placeOf(place) });
}

/**
 * Opens the VAE decoder (`latent_sample` [B,C,h,w] → `sample` [B,3,h·f,w·f]). `fusedAttention` is the model
 * folder's choice (fusedAttentionAccurate); single-file checkpoints have always used the graph's default.
 */
export async function openVaeDecoderSession(vae: AutoencoderKL, weightsDir: string, place: SessionPlace, fusedAttention?: boolean): Promise<ModelSession> {
  // No per-shape memory plan: measured on the bundled model, peak RSS during decoding 25-30 MiB lower at
  // every scale (the plan keeps one block the size of all the decoder's intermediates), same decode time.
  const graph = fusedAttention === undefined ? buildVaeDecodeGraph(vae) : buildVaeDecodeGraph(vae, { fusedAttention });
  return ModelSession.create(graph.toModelProto(), { weightsDir, memoryPattern: false, ...placeOf(place) });
}

/** Opens the VAE encoder (`sample` [B,3,H,W] in [-1,1] → `mean`, `logvar`, `std` [B,C,H/f,W/f]). */
export async function openVaeEncoderSession(vae: AutoencoderKL, weightsDir: string, place: SessionPlace): Promise<ModelSession> {
  return ModelSession.create(buildVaeEncodeGraph(vae).toModelProto(), { weightsDir, memoryPattern: false, ...placeOf(place) });
}
