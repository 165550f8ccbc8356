#!/usr/bin/env node
// npm links this file when it installs, before `tsc -b` has built dist/ (a link to dist/cli.js
// would be skipped on a fresh clone): it only loads the build, or says how to make it.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("swarm: not built yet: run `npm run build` in the repository first\n");
  process.exit(1);
}
await import(cli.href);
