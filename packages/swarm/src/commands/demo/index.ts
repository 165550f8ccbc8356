import { Testbed } from "@livekit-swarm/testbed";
import { ExitCode } from "../../exit-codes.js";
import { helpText, parseOptions, type CommandSpec } from "../../options.js";

const SPEC: CommandSpec = {
  name: "demo",
  summary:
    "Starts an embedded local LiveKit (a testbed), exercises it through RoomService, shows what the node " +
    "reports on /metrics, and stops everything it started.",
  usage: "swarm demo [options]",
  options: [{ name: "nodes", type: "integer", default: 1, description: "livekit-server nodes to start" }],
  examples: ["swarm demo", "swarm demo --nodes 3"],
};

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  const nodes = values.nodes as number;
  process.stdout.write(`starting a local LiveKit testbed with ${nodes} node(s)...\n`);
  const tb = await Testbed.start({ name: `demo-${process.pid}`, nodes });
  const interrupt = new AbortController();
  const onSignal = (): void => {
    interrupt.abort();
  };
  process.once("SIGINT", onSignal);
  try {
    process.stdout.write(`LiveKit is up at ${tb.url}\n`);
    const rooms = tb.roomService();
    const names = Array.from({ length: nodes * 2 }, (_, i) => `demo-room-${i + 1}`);
    for (const name of names) {
      if (interrupt.signal.aborted) break;
      await rooms.createRoom({ name });
    }
    const listed = await rooms.listRooms();
    process.stdout.write(`created ${listed.length} rooms through RoomService:\n`);
    for (const room of listed) {
      const node = await tb.roomNode(room.name);
      process.stdout.write(
        `  ${room.name.padEnd(12)} ${room.sid}  on ${node?.name ?? "?"} (${node?.nodeId ?? "?"})\n`,
      );
    }
    for (const node of tb.nodes) {
      const text = await (await fetch(node.metricsUrl)).text();
      const series = text.split("\n").filter((l) => l.startsWith("livekit_")).length;
      process.stdout.write(`  ${node.name} serves ${series} livekit_* series at ${node.metricsUrl}\n`);
    }
    for (const name of names) await rooms.deleteRoom(name);
    return interrupt.signal.aborted ? ExitCode.interrupted : ExitCode.ok;
  } finally {
    process.removeListener("SIGINT", onSignal);
    await tb.stop();
    process.stdout.write("testbed stopped; nothing left running\n");
  }
}
