export type { LossCounts, LossRatioOfSums, Percentile, Population, Summary, Ratio } from "./statistics.js";
export {
  lossRatioByGroup,
  lossRatioOfSums,
  lossRatioPercentile,
  percentile,
  percentiles,
  summarize,
} from "./statistics.js";
