import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The compose-go release whose schema/compose-spec.json we validate against; pinned, never @latest. */
const COMPOSE_GO = "github.com/compose-spec/compose-go/v2@v2.4.9";

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  depends_on?: string[] | Record<string, unknown>;
  volumes?: (string | { type?: string; source?: string })[];
  ports?: (string | number)[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
}

const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8")) as Compose;

const hasGo = spawnSync("go", ["version"]).status === 0;
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;

/** Downloads (or finds in the module cache) the pinned compose-go and returns its JSON schema. */
function composeSchema(): object {
  const info = JSON.parse(
    execFileSync("go", ["mod", "download", "-json", COMPOSE_GO], { encoding: "utf8", timeout: 60_000 }),
  ) as { Dir?: string; Error?: string };
  if (info.Dir === undefined) throw new Error(`go mod download ${COMPOSE_GO}: ${info.Error}`);
  return JSON.parse(readFileSync(join(info.Dir, "schema", "compose-spec.json"), "utf8")) as object;
}

interface AjvLike {
  validate(schema: object, data: unknown): boolean;
  errorsText(): string;
}

describe("docker-compose.yml", () => {
  it.skipIf(!hasGo)(`is valid against the Compose specification schema (${COMPOSE_GO})${hasGo ? "" : " [SKIPPED: no Go toolchain to fetch the schema module]"}`, () => {
    // ajv 6 comes with eslint; the schema is draft-07, which ajv 6 implements
    const Ajv = createRequire(import.meta.url)("ajv") as new (opts: object) => AjvLike;
    const ajv = new Ajv({ unknownFormats: "ignore", validateSchema: false, schemaId: "auto" });
    const ok = ajv.validate(composeSchema(), compose);
    expect(ok, ajv.errorsText()).toBe(true);
  });

  it("gives every service an image or a build, and depends only on services it defines", () => {
    const names = Object.keys(compose.services);
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image !== undefined || s.build !== undefined, `${name} has neither image nor build`).toBe(true);
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) expect(names, `${name} depends on ${dep}`).toContain(dep);
    }
    expect(compose.services["livekit-1"]?.image).toBe("livekit/livekit-server:v1.13.5");
    expect(compose.services["livekit-2"]?.image).toBe("livekit/livekit-server:v1.13.5");
  });

  it("mounts and builds only files that exist in the repo", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === "string" ? v.split(":")[0] : v.source;
        if (source?.startsWith(".") === true) {
          expect(existsSync(join(root, source)), `${name} mounts ${source}`).toBe(true);
        }
      }
      if (typeof s.build === "object") {
        const context = join(root, s.build.context ?? ".");
        expect(existsSync(join(context, s.build.dockerfile ?? "Dockerfile")), `${name} Dockerfile`).toBe(true);
      }
    }
  });

  it("points Prometheus at both nodes, the canary and the repo's alert rules", () => {
    const prom = parse(readFileSync(join(root, "deploy/prometheus/prometheus.yml"), "utf8")) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(
      prom.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
    );
    expect(targets).toEqual({ livekit: ["livekit-1:6789", "livekit-2:6789"], swarm: ["canary:9464"] });
    expect(prom.rule_files).toEqual(["/etc/prometheus/alerts/*.rules.yaml"]);
    expect(compose.services.prometheus?.volumes).toContain("./alerts:/etc/prometheus/alerts:ro");
    for (const n of [1, 2]) {
      const lk = parse(readFileSync(join(root, `deploy/livekit/livekit-${n}.yaml`), "utf8")) as {
        prometheus_port: number;
      };
      expect(lk.prometheus_port).toBe(6789);
    }
  });

  it("publishes every port on ${LKSWARM_PUBLISH:-127.0.0.1}, loopback unless the operator says otherwise", () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(String(p)).toMatch(/^\$\{LKSWARM_PUBLISH:-127\.0\.0\.1\}:\d+:\d+(\/(tcp|udp))?$/);
  });

  it("has a local override (deploy/compose/local.yml) that swaps images of services it defines and keeps Grafana out", () => {
    const local = parse(readFileSync(join(root, "deploy/compose/local.yml"), "utf8")) as Compose;
    for (const [name, s] of Object.entries(local.services)) {
      expect(Object.keys(compose.services), `local.yml overrides ${name}`).toContain(name);
      if (s.image !== undefined) expect(s.image, name).toMatch(/^localhost\//);
    }
    const imaged = Object.entries(local.services).filter(([, s]) => s.image !== undefined).map(([n]) => n);
    expect(imaged.sort()).toEqual(Object.keys(compose.services).filter((n) => n !== "grafana").sort());
    expect(local.services.grafana?.profiles).toEqual(["grafana"]);
    // every image the override names is one deploy/compose/local.sh makes
    const script = readFileSync(join(root, "deploy/compose/local.sh"), "utf8");
    for (const s of Object.values(local.services)) if (s.image !== undefined) expect(script).toContain(s.image);
  });

  it.skipIf(!hasPromtool)(`has a Prometheus config promtool accepts${hasPromtool ? "" : " [SKIPPED: no promtool - run npm run setup]"}`, () => {
    const check = spawnSync("promtool", ["check", "config", join(root, "deploy/prometheus/prometheus.yml")], {
      encoding: "utf8",
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
