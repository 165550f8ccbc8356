/**
 * A mergeable quantile sketch whose size does not grow with the run: exact nearest-rank percentiles
 * while it holds few values, and past that DDSketch's log buckets (Masson, Rim and Lee, VLDB 2019),
 * where every reported percentile is within a stated relative error of the exact one.
 *
 * Written here rather than taken from @datadog/sketches-js because the figures must keep this
 * package's definitions: nearest rank (`Percentile.method`), not that library's rank q*(n-1);
 * exact below a size, where raw values are cheap and most runs' populations sit; count, sum, min
 * and max exact; and a plain JSON form that a reader checks value by value like every file the tool
 * reads back (the library's is protobuf). The algorithm is the paper's, a few lines of arithmetic.
 *
 * The guarantee, for a sketch past its exact size: a value v > 0 falls in bucket i = ceil(log_g v)
 * with g = (1 + a) / (1 - a), which holds (g^(i-1), g^i]; the bucket reports 2 g^i / (g + 1), within
 * a relative error a of every value in it. The rank walk is exact, so the reported p-th percentile
 * is the exact nearest-rank value's bucket: within a of it (negative values mirror this; values of
 * magnitude under MIN_MAGNITUDE count as 0). No clock, no I/O.
 */
import { KnownError } from "@livekit-swarm/schema";
import { checkP, percentiles, rankOf, type Percentile, type Population } from "./statistics.js";

/** The relative error of a bucketed sketch unless told otherwise: 1%. */
export const SKETCH_RELATIVE_ERROR = 0.01;
/** Values held raw, and percentiles exact, up to this many. */
export const SKETCH_EXACT_LIMIT = 1024;
/** Magnitudes below this count as 0 (a nanosecond, a billionth of a ratio). */
export const MIN_MAGNITUDE = 1e-9;
/** Magnitudes above this are refused: no figure of ours comes near (bits per second included). */
export const MAX_MAGNITUDE = 1e15;

/** A sketch as it is written to a file (and read back, checked, by `QuantileSketch.fromJSON`). */
export interface SketchJson {
  readonly relativeError: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number | null;
  readonly max: number | null;
  /** The values themselves while the sketch is exact; absent once it is bucketed. */
  readonly values?: readonly number[];
  readonly zeros?: number;
  /** Bucket index and count pairs, [i0, c0, i1, c1, ...], for positive and negative values. */
  readonly positive?: readonly number[];
  readonly negative?: readonly number[];
}

export class SketchError extends KnownError<"bad-sketch"> {
  override readonly name = "SketchError";
  constructor(message: string) {
    super("bad-sketch", message);
  }
}

export class QuantileSketch {
  private readonly logGamma: number;
  private readonly gamma: number;
  private values: number[] | undefined = [];
  private zeros = 0;
  private readonly positive = new Map<number, number>();
  private readonly negative = new Map<number, number>();
  private n = 0;
  private total = 0;
  private low = Infinity;
  private high = -Infinity;

  constructor(
    readonly relativeError = SKETCH_RELATIVE_ERROR,
    private readonly exactLimit = SKETCH_EXACT_LIMIT,
  ) {
    if (!(relativeError > 0 && relativeError < 1))
      throw new SketchError(`relative error ${relativeError}: expected more than 0 and less than 1`);
    this.gamma = (1 + relativeError) / (1 - relativeError);
    this.logGamma = Math.log(this.gamma);
  }

  /** Observations added: non-finite values are not counted, as `percentiles` does not count them. */
  get count(): number {
    return this.n;
  }

  get sum(): number {
    return this.total;
  }

  get min(): number | undefined {
    return this.n === 0 ? undefined : this.low;
  }

  get max(): number | undefined {
    return this.n === 0 ? undefined : this.high;
  }

  /** Whether every percentile is still the exact nearest-rank value. */
  get exact(): boolean {
    return this.values !== undefined;
  }

  add(value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return;
    if (Math.abs(value) > MAX_MAGNITUDE)
      throw new SketchError(`${value}: a magnitude over ${MAX_MAGNITUDE} is not a figure of ours`);
    this.n += 1;
    this.total += value;
    if (value < this.low) this.low = value;
    if (value > this.high) this.high = value;
    if (this.values !== undefined) {
      this.values.push(value);
      if (this.values.length > this.exactLimit) this.fold();
      return;
    }
    this.bucket(value, 1);
  }

  /** Adds everything `other` holds; the two must share a relative error. */
  merge(other: QuantileSketch): void {
    if (other.relativeError !== this.relativeError)
      throw new SketchError(
        `cannot merge a sketch of relative error ${other.relativeError} into one of ${this.relativeError}`,
      );
    if (other.n === 0) return;
    this.n += other.n;
    this.total += other.total;
    this.low = Math.min(this.low, other.low);
    this.high = Math.max(this.high, other.high);
    if (this.values !== undefined && other.values !== undefined) {
      this.values.push(...other.values);
      if (this.values.length > this.exactLimit) this.fold();
      return;
    }
    if (this.values !== undefined) this.fold();
    if (other.values !== undefined) for (const v of other.values) this.bucket(v, 1);
    else {
      this.zeros += other.zeros;
      for (const [i, c] of other.positive) this.positive.set(i, (this.positive.get(i) ?? 0) + c);
      for (const [i, c] of other.negative) this.negative.set(i, (this.negative.get(i) ?? 0) + c);
    }
  }

  /** Nearest-rank percentiles, as `percentiles` gives them over the same values (within the error once bucketed). */
  percentiles(ps: readonly number[], population: Population): Percentile[] {
    if (this.values !== undefined) return percentiles(this.values, ps, population);
    const order = this.order();
    return ps.map((p) => {
      checkP(p);
      return {
        method: "nearest-rank" as const,
        p,
        population,
        n: this.n,
        value: this.n === 0 ? undefined : this.bucketAtRank(order, rankOf(p, this.n)),
      };
    });
  }

  /**
   * The value at a nearest rank (1-based, clamped to 1..count): exact while the sketch is, within
   * its relative error once bucketed; undefined when empty.
   */
  atRank(rank: number): number | undefined {
    if (this.n === 0) return undefined;
    const r = Math.min(this.n, Math.max(1, Math.ceil(rank)));
    if (this.values !== undefined) return [...this.values].sort((a, b) => a - b)[r - 1];
    return this.bucketAtRank(this.order(), r);
  }

  /** The values held while the sketch is exact (none once bucketed). */
  exactValues(): readonly number[] {
    return this.values ?? [];
  }

  toJSON(): SketchJson {
    const head = {
      relativeError: this.relativeError,
      count: this.n,
      sum: this.total,
      min: this.min ?? null,
      max: this.max ?? null,
    };
    if (this.values !== undefined) return { ...head, values: [...this.values] };
    const flat = (m: Map<number, number>): number[] =>
      [...m].sort((a, b) => a[0] - b[0]).flatMap(([i, c]) => [i, c]);
    return { ...head, zeros: this.zeros, positive: flat(this.positive), negative: flat(this.negative) };
  }

  /**
   * A sketch from its JSON, every field checked: a hand-edited or truncated file gets a SketchError
   * naming the field, never a sketch that reports what was not observed.
   */
  static fromJSON(json: unknown, exactLimit = SKETCH_EXACT_LIMIT): QuantileSketch {
    const fail = (what: string): never => {
      throw new SketchError(`a sketch's ${what}`);
    };
    if (typeof json !== "object" || json === null || Array.isArray(json))
      return fail("JSON is not an object");
    const j = json as Record<string, unknown>;
    const error = j.relativeError;
    if (typeof error !== "number" || !(error >= 0.0001 && error <= 0.5))
      return fail("relativeError: expected a number from 0.0001 to 0.5");
    const sketch = new QuantileSketch(error, exactLimit);
    const count = j.count;
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0)
      return fail("count: expected a whole number of 0 or more");
    const sum = j.sum;
    if (typeof sum !== "number" || !Number.isFinite(sum)) return fail("sum: expected a finite number");
    const bound = (v: unknown, name: string): number | undefined => {
      if (count === 0) return v === null ? undefined : fail(`${name}: expected null with count 0`);
      if (typeof v !== "number" || !(Math.abs(v) <= MAX_MAGNITUDE))
        return fail(`${name}: expected a number of magnitude at most ${MAX_MAGNITUDE}`);
      return v;
    };
    const min = bound(j.min, "min");
    const max = bound(j.max, "max");
    if (min !== undefined && max !== undefined && min > max) return fail("min is over its max");
    // what count, min and max allow the sum to be (a rounding's worth of slack)
    const slack = 1e-9 * Math.max(1, Math.abs(sum));
    if (min !== undefined && max !== undefined && !(sum >= count * min - slack && sum <= count * max + slack))
      return fail(`sum ${sum}: not ${count} values between its min and max`);
    if (j.values !== undefined) {
      if (!Array.isArray(j.values) || j.values.length !== count || count > exactLimit)
        return fail(`values: expected ${count} numbers (at most ${exactLimit})`);
      for (const v of j.values as unknown[])
        if (typeof v !== "number" || min === undefined || max === undefined || !(v >= min && v <= max))
          return fail("values: expected numbers between its min and max");
      const values = j.values as number[];
      if (count > 0 && (!values.includes(min ?? NaN) || !values.includes(max ?? NaN)))
        return fail("min and max: expected the least and greatest of its values");
      sketch.values = [...values];
    } else {
      sketch.values = undefined;
      const zeros = j.zeros ?? 0;
      if (typeof zeros !== "number" || !Number.isSafeInteger(zeros) || zeros < 0)
        return fail("zeros: expected a whole number of 0 or more");
      sketch.zeros = zeros;
      let held = zeros;
      // a bucket index past the magnitudes a value may have cannot come from add()
      const maxIndex = Math.ceil(Math.log(MAX_MAGNITUDE) / sketch.logGamma) + 1;
      const minIndex = Math.floor(Math.log(MIN_MAGNITUDE) / sketch.logGamma) - 1;
      for (const [name, store] of [
        ["positive", sketch.positive],
        ["negative", sketch.negative],
      ] as const) {
        const flat = j[name] ?? [];
        if (!Array.isArray(flat) || flat.length % 2 !== 0 || flat.length > 2 * (maxIndex - minIndex + 1))
          return fail(`${name}: expected index and count pairs`);
        for (let k = 0; k < flat.length; k += 2) {
          const [i, c] = [flat[k] as unknown, flat[k + 1] as unknown];
          if (typeof i !== "number" || !Number.isInteger(i) || i < minIndex || i > maxIndex)
            return fail(`${name}: bucket index ${String(i)} out of range`);
          if (typeof c !== "number" || !Number.isSafeInteger(c) || c <= 0 || store.has(i))
            return fail(`${name}: bucket ${i}'s count must be a whole number over 0, once`);
          store.set(i, c);
          held += c;
        }
      }
      if (held !== count) return fail(`buckets hold ${held} values where its count says ${count}`);
    }
    sketch.n = count;
    sketch.total = sum;
    sketch.low = min ?? Infinity;
    sketch.high = max ?? -Infinity;
    return sketch;
  }

  private fold(): void {
    const values = this.values ?? [];
    this.values = undefined;
    for (const v of values) this.bucket(v, 1);
  }

  private bucket(value: number, count: number): void {
    const magnitude = Math.abs(value);
    if (magnitude < MIN_MAGNITUDE) {
      this.zeros += count;
      return;
    }
    const store = value > 0 ? this.positive : this.negative;
    const i = Math.ceil(Math.log(magnitude) / this.logGamma);
    store.set(i, (store.get(i) ?? 0) + count);
  }

  /** Buckets from the lowest value up: negatives by falling magnitude, zeros, positives. */
  private order(): [value: number, count: number][] {
    const mid = (i: number): number => (2 * this.gamma ** i) / (this.gamma + 1);
    return [
      ...[...this.negative].sort((a, b) => b[0] - a[0]).map(([i, c]): [number, number] => [-mid(i), c]),
      ...(this.zeros > 0 ? [[0, this.zeros] as [number, number]] : []),
      ...[...this.positive].sort((a, b) => a[0] - b[0]).map(([i, c]): [number, number] => [mid(i), c]),
    ];
  }

  private bucketAtRank(order: readonly [number, number][], rank: number): number {
    // the first and last ranks are the min and max, which are kept exact
    if (rank <= 1) return this.low;
    if (rank >= this.n) return this.high;
    let seen = 0;
    for (const [value, count] of order) {
      seen += count;
      // within the observed range: a bucket past the min or max reports it instead
      if (seen >= rank) return Math.min(this.high, Math.max(this.low, value));
    }
    return this.high;
  }
}
