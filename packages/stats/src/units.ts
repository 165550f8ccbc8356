/** Unit aliases: zero-cost, but they make every field's unit visible at the use site. */
export type Seconds = number;
export type Milliseconds = number;
export type BitsPerSecond = number;
export type Ratio = number;

export type MediaKind = "audio" | "video" | "unknown";
export type QualityLimitationReason = "none" | "cpu" | "bandwidth" | "other";
