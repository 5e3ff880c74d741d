/**
 * The deterministic randomness behind every chaos decision: one seed (with the decision's place,
 * hashed by `hashSeed`) always gives the same draws.
 */
import { fnv1a32Value } from '../../core/sequence';

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a (core/sequence.ts) over the parts: a stable 32-bit seed for one decision. */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  return fnv1a32Value(parts.join('\u0000'));
}
