/** Writes the published package's version into packages/schema/src/tool.ts (run by `npm run release:version`). */
import { writeFileSync } from "node:fs";
import { TOOL_MODULE, publishedVersion, toolModule } from "./tool-module.js";

const version = publishedVersion();
writeFileSync(TOOL_MODULE, toolModule(version));
process.stdout.write(`livekit-swarm ${version} written into ${TOOL_MODULE}\n`);
