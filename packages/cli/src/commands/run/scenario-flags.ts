import { Option } from "@commander-js/extra-typings";
import {
  JOINS_PER_SECOND,
  MAX_DURATION,
  MAX_PER_ROOM,
  MAX_ROOMS,
  MAX_SHARING,
  engineChoices,
  scenarioFields,
} from "@livekit-swarm/schema";
import { duration, integer, positive } from "../../flags.js";

/**
 * A flag that sets a scenario key: the key is named once, the flag is the key with "." as "-"
 * (video.codec: --video-codec), and its help line is the schema's own (scenarioFields). A number is
 * range-checked here, naming the flag; every value is then validated by the scenario schema, so a
 * flag and a scenario file accept the same values.
 */
interface ScenarioFlag {
  readonly key: string;
  /** When the flag is not the key's name. */
  readonly flag?: string;
  /** Placeholder of the value; absent: a switch (true when given). */
  readonly value?: string;
  /** An integer flag's accepted range. */
  readonly int?: readonly [min: number, max: number];
  /** A number flag's accepted range (above 0). */
  readonly number?: readonly [min: number, max: number];
  /** A duration flag's accepted range, in milliseconds; the value goes on as written. */
  readonly lasting?: readonly [min: number, max: number];
  /** When the schema's help line is about the file, not the flag. */
  readonly help?: string;
}

const TABLE: readonly ScenarioFlag[] = [
  { key: "name", value: "name" },
  { key: "engine", value: engineChoices.join("|") },
  { key: "rooms", value: "n", int: [1, MAX_ROOMS] },
  { key: "video-publishers", value: "n", int: [0, MAX_PER_ROOM] },
  { key: "audio-publishers", value: "n", int: [0, MAX_PER_ROOM] },
  { key: "subscribers", value: "n", int: [0, MAX_PER_ROOM] },
  { key: "publishers-subscribe" },
  { key: "duration", value: "30s", lasting: [1, MAX_DURATION] },
  { key: "num-per-second", value: "n", number: [JOINS_PER_SECOND.least, JOINS_PER_SECOND.most] },
  { key: "video.resolution", value: "360p" },
  { key: "video.codec", value: "vp8" },
  { key: "video.fps", value: "n", int: [1, 60] },
  { key: "video.simulcast", flag: "simulcast" },
  { key: "subscribe-limit", value: "n", int: [1, MAX_PER_ROOM] },
  {
    key: "room-prefix",
    value: "prefix",
    help: "Room names are this plus the room index (default lkswarm-<run id>-)",
  },
  { key: "identity-prefix", value: "prefix" },
  { key: "data", help: "Publishers send a reliable data packet every second (default false)" },
  { key: "latency-probes", value: "n", int: [0, MAX_PER_ROOM] },
  { key: "browser-probes", value: "n", int: [0, MAX_PER_ROOM] },
  { key: "participants-per-page", value: "n", int: [1, MAX_SHARING] },
  { key: "pages-per-browser", value: "n", int: [1, MAX_SHARING] },
  {
    key: "e2ee",
    help: "End-to-end encrypt media with a shared key (native or browser engine; lean refuses it): from --e2ee-key-file, env LKSWARM_E2EE_KEY, or made for the run; never printed (default false)",
  },
];

function describe(f: ScenarioFlag): string {
  if (f.help !== undefined) return f.help;
  const field = scenarioFields.find((s) => s.key === f.key);
  if (field === undefined) throw new Error(`scenario key ${f.key} is not in scenarioFields`);
  const [min, max] = f.int ?? f.number ?? [];
  const range = min !== undefined && max !== undefined ? `, ${min} to ${max}` : "";
  if (field.summary.includes(range.slice(2))) return `${field.summary} (default ${field.default})`;
  return `${field.summary}${range} (default ${field.default})`;
}

function parserOf(flag: string, f: ScenarioFlag): ((text: string) => number | string) | undefined {
  if (f.int !== undefined) return integer("run", flag, f.int[0], f.int[1]);
  if (f.number !== undefined) return positive("run", flag, f.number[0], f.number[1]);
  const lasting = f.lasting;
  if (lasting !== undefined)
    return (text) => {
      duration("run", flag, lasting[0], lasting[1])(text);
      return text;
    };
  return undefined;
}

/** The options, in help order, each with the scenario key it sets. */
export const SCENARIO_OPTIONS: readonly { readonly key: string; readonly option: Option }[] = TABLE.flatMap(
  (f) => {
    const flag = f.flag ?? f.key.replace(".", "-");
    const option = new Option(`--${flag}${f.value !== undefined ? ` <${f.value}>` : ""}`, describe(f));
    const parse = parserOf(flag, f);
    if (parse !== undefined) option.argParser(parse);
    const options = [{ key: f.key, option }];
    // video.simulcast is on by default: bulk publishers turn it off
    if (f.key === "video.simulcast") {
      options.push({
        key: f.key,
        option: new Option(`--no-${flag}`, "publish one video layer (cheaper for bulk publishers)"),
      });
    }
    return options;
  },
);
