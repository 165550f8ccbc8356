import {
  metric,
  swarmMetrics,
  type OptInLabel,
  type SwarmLabel,
  type SwarmMetric,
  type SwarmMetricName,
} from "@livekit-swarm/schema";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type LabelName = SwarmLabel | OptInLabel;
/** Label values on offer; each metric takes the ones the catalog gives it and ignores the rest. */
export type LabelSet = Readonly<Partial<Record<LabelName, string>>>;

/**
 * A catalog metric registered with prom-client. Its labels are the catalog's, plus the opt-in ones
 * (`room`, `participant`) when the exporter runs per participant: no code path can add another.
 */
abstract class CatalogMetric {
  readonly labelNames: readonly LabelName[];
  private readonly created = new Set<string>();

  constructor(
    readonly definition: SwarmMetric,
    perParticipant: boolean,
    private readonly registry: Registry,
  ) {
    this.labelNames = perParticipant ? [...definition.labels, ...definition.optInLabels] : definition.labels;
  }

  get name(): string {
    return this.definition.name;
  }

  /** What prom-client's metric constructors take from the catalog: name, help, labels, registry. */
  protected promOptions(): {
    name: string;
    help: string;
    labelNames: readonly LabelName[];
    registers: Registry[];
  } {
    return {
      name: this.definition.name,
      help: this.definition.help,
      labelNames: this.labelNames,
      registers: [this.registry],
    };
  }

  /** Identifies the series `labels` select, leaving out `omit`: for grouping series outside prom-client. */
  keyOf(labels: LabelSet, omit: readonly LabelName[] = []): string {
    return this.labelNames
      .filter((name) => !omit.includes(name))
      .map((name) => this.value(labels, name))
      .join("\u0000");
  }

  /** This metric's labels taken from `labels`; `isNew` is true the first time a series is selected. */
  protected select(labels: LabelSet): { values: Record<string, string>; isNew: boolean } {
    // on every observation: one pass, no intermediate arrays
    const values: Record<string, string> = {};
    let key = "";
    for (const name of this.labelNames) {
      const value = this.value(labels, name);
      values[name] = value;
      key += `${value}\u0000`;
    }
    const isNew = !this.created.has(key);
    if (isNew) this.created.add(key);
    return { values, isNew };
  }

  private value(labels: LabelSet, name: LabelName): string {
    const value = labels[name];
    if (value === undefined) {
      throw new Error(`${this.name} needs label "${name}" and the exporter did not supply it: this is a bug`);
    }
    return value;
  }
}

export class CatalogCounter extends CatalogMetric {
  private readonly counter = new Counter(this.promOptions());

  /** Adds to the series; an amount that is negative, NaN or infinite adds nothing (counters only go up). */
  add(labels: LabelSet, amount: number): void {
    this.counter.inc(this.select(labels).values, Number.isFinite(amount) && amount > 0 ? amount : 0);
  }

  /** Creates the series at 0 if it does not exist yet, so `rate()` sees its first increase. */
  ensure(labels: LabelSet): void {
    const { values, isNew } = this.select(labels);
    if (isNew) this.counter.inc(values, 0);
  }
}

export class CatalogHistogram extends CatalogMetric {
  private readonly histogram = new Histogram({
    ...this.promOptions(),
    buckets: [...(this.definition.buckets ?? [])],
  });

  /** Every catalog histogram measures a duration or a ratio, so NaN, infinite and negative values are dropped. */
  observe(labels: LabelSet, value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.histogram.observe(this.select(labels).values, value);
  }

  /** Creates the series with empty buckets if it does not exist yet (`zero()` would empty a live one). */
  ensure(labels: LabelSet): void {
    const { values, isNew } = this.select(labels);
    if (isNew) this.histogram.zero(values);
  }
}

export class CatalogGauge extends CatalogMetric {
  private readonly gauge = new Gauge(this.promOptions());

  set(labels: LabelSet, value: number): void {
    this.gauge.set(this.select(labels).values, value);
  }
}

export type AnyCatalogMetric = CatalogCounter | CatalogHistogram | CatalogGauge;

/** Every swarm metric of the catalog, registered in one registry under the catalog's name, help and buckets. */
export class CatalogMetrics {
  private readonly byName = new Map<string, AnyCatalogMetric>();

  constructor(registry: Registry, perParticipant: boolean) {
    for (const definition of swarmMetrics()) {
      const registered =
        definition.type === "counter"
          ? new CatalogCounter(definition, perParticipant, registry)
          : definition.type === "histogram"
            ? new CatalogHistogram(definition, perParticipant, registry)
            : new CatalogGauge(definition, perParticipant, registry);
      this.byName.set(definition.name, registered);
    }
  }

  all(): readonly AnyCatalogMetric[] {
    return [...this.byName.values()];
  }

  counter(name: SwarmMetricName): CatalogCounter {
    return this.typed(name, CatalogCounter, "counter");
  }

  histogram(name: SwarmMetricName): CatalogHistogram {
    return this.typed(name, CatalogHistogram, "histogram");
  }

  gauge(name: SwarmMetricName): CatalogGauge {
    return this.typed(name, CatalogGauge, "gauge");
  }

  private typed<T extends AnyCatalogMetric>(
    name: SwarmMetricName,
    type: abstract new (...args: never[]) => T,
    word: string,
  ): T {
    const found = this.byName.get(name);
    if (found === undefined)
      throw new Error(`${name} is in the catalog but was not registered: this is a bug`);
    if (!(found instanceof type)) {
      throw new Error(`the catalog makes ${name} a ${metric(name).type}; the exporter feeds it as a ${word}`);
    }
    return found;
  }
}
