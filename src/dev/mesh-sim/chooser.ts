// Weighted choices and percentages, either interleaved deterministically ("smooth": smooth weighted
// round-robin as in nginx, error diffusion for percentages) or as independent random draws. Pure.
import type { Rng } from './prng.js';

export type SamplingMode = 'smooth' | 'random';

interface Entry {
  current: number[];
  acc: number;
  used: boolean;
}

export class Chooser {
  private readonly state = new Map<string, Entry>();

  constructor(
    public mode: SamplingMode,
    private readonly rng: Rng,
  ) {}

  private entry(key: string): Entry {
    let e = this.state.get(key);
    if (!e) {
      e = { current: [], acc: 0, used: true };
      this.state.set(key, e);
    }
    e.used = true;
    return e;
  }

  /** Index chosen in proportion to the weights, or -1 when they sum to 0. */
  pick(key: string, weights: readonly number[]): number {
    const total = weights.reduce((s, w) => s + Math.max(0, w), 0);
    if (total <= 0) return -1;
    if (this.mode === 'random') {
      let r = this.rng.next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= Math.max(0, weights[i] ?? 0);
        if (r < 0) return i;
      }
      return weights.length - 1;
    }
    const e = this.entry(key);
    if (e.current.length !== weights.length) e.current = weights.map(() => 0);
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      e.current[i] = (e.current[i] ?? 0) + Math.max(0, weights[i] ?? 0);
      if (best < 0 || (e.current[i] ?? 0) > (e.current[best] ?? 0)) best = i;
    }
    e.current[best] = (e.current[best] ?? 0) - total;
    return best;
  }

  /** True with probability p (0..1). */
  chance(key: string, p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    if (this.mode === 'random') return this.rng.next() < p;
    const e = this.entry(key);
    e.acc += p;
    if (e.acc >= 1 - 1e-9) {
      e.acc -= 1;
      return true;
    }
    return false;
  }

  /** Forgets the state of keys not used since the previous prune. */
  prune(): void {
    for (const [k, e] of this.state) {
      if (!e.used) this.state.delete(k);
      else e.used = false;
    }
  }

  get size(): number {
    return this.state.size;
  }
}
