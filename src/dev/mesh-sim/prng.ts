// Seedable PRNG for the simulator core (mulberry32): deterministic unit tests, reproducible runs with a seed.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export class SeededRng implements Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = Math.trunc(seed) >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box-Muller, the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** z-score of the 99th percentile of the standard normal distribution. */
export const z99 = 2.3263478740408408;

/**
 * Log-normal distribution fitted to a median and a 99th percentile: ln X ~ N(mu, sigma) with
 * mu = ln p50, sigma = ln(p99 / p50) / z99. A p99 at or below p50 gives a constant p50.
 */
export function logNormalParams(p50: number, p99: number): { mu: number; sigma: number } {
  const mu = Math.log(p50);
  const sigma = p99 > p50 ? Math.log(p99 / p50) / z99 : 0;
  return { mu, sigma };
}

export function drawLogNormal(rng: SeededRng, p50: number, p99: number): number {
  const { mu, sigma } = logNormalParams(p50, p99);
  return Math.exp(mu + sigma * rng.normal());
}
