import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";

/** The Grafana annotation tag a chaos drill writes when it injects and clears a fault. */
export const FAULT_TAG = "lkswarm-fault";

/** Grafana's built-in annotation store, queried by tag: the SDK types its target as a data query. */
class TagTarget implements cog.Builder<cog.Dataquery> {
  constructor(private readonly tags: readonly string[]) {}

  build(): cog.Dataquery {
    const target: dashboard.AnnotationTarget & cog.Dataquery = {
      type: "tags",
      tags: [...this.tags],
      matchAny: true,
      limit: 100,
      _implementsDataqueryVariant() {
        // marker only; JSON output drops it
      },
    };
    return target;
  }
}

/**
 * Fault windows as region annotations. Drills do not exist yet: the plan is for each drill to POST
 * `{dashboardUID?, time, timeEnd, tags: ["lkswarm-fault", <fault>, <scenario>], text}` to Grafana's
 * /api/annotations when it clears a fault, so every dashboard that shows this query marks it.
 */
export function faultAnnotations(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name("Faults")
    .datasource({ type: "grafana", uid: "-- Grafana --" })
    .enable(true)
    .iconColor("red")
    .type("tags")
    .target(new TagTarget([FAULT_TAG]));
}
