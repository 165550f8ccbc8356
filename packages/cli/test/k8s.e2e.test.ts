import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { TOOLS_BIN } from "@livekit-swarm/testbed";
import { swarm } from "@livekit-swarm/test-kit";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** Built by scripts/setup from tools/k8s-validate (pinned k8s.io/api and prometheus-operator modules). */
const VALIDATE = join(TOOLS_BIN, "k8s-validate");

function validate(yaml: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    accessSync(VALIDATE, constants.X_OK);
  } catch {
    throw new Error(
      `${VALIDATE} is missing: run scripts/setup (it builds tools/k8s-validate with Go), with the same LIVEKIT_SWARM_TOOLS`,
    );
  }
  return new Promise((resolve) => {
    const child = execFile(VALIDATE, ["-"], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
    child.stdin?.end(yaml);
  });
}

const dir = mkdtempSync(join(tmpdir(), "swarm-k8s-"));
const scenario = join(dir, "wide.yaml");
writeFileSync(
  scenario,
  "# 128 rooms: enough for 64 shards\nname: wide\nrooms: 128\nvideo-publishers: 0\nsubscribers: 4\nduration: 5m\nnum-per-second: 20\n",
);
const SECRET = "e2e-secret-value-never-in-yaml";
const KEY = "e2e-api-key-never-in-yaml";

async function render(shards: number, extra: readonly string[] = []): Promise<string> {
  const r = await swarm(
    [
      "k8s",
      "render",
      "--scenario",
      scenario,
      "--shards",
      String(shards),
      "--image",
      "registry.example.com/livekit-swarm:e2e",
      "--url",
      "wss://livekit.example.com",
      "--engine",
      "lean",
      ...extra,
    ],
    { LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET);
  expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
  return r.stdout;
}

/** The rendered documents with one change made to the first object of `kind`. */
function withChange(yaml: string, kind: string, change: (object: Record<string, unknown>) => void): string {
  const docs = parseAllDocuments(yaml, { version: "1.1" }).map((d) => {
    const js: unknown = d.toJS();
    return js;
  });
  const object = docs.find(
    (d): d is Record<string, unknown> =>
      typeof d === "object" && d !== null && "kind" in d && d.kind === kind,
  );
  if (object === undefined) throw new Error(`no ${kind} rendered`);
  change(object);
  return docs.map((d) => stringify(d, { version: "1.1" })).join("---\n");
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(`not a mapping: ${JSON.stringify(value)}`);
  return Object.fromEntries(Object.entries(value));
}

describe("swarm k8s render: the manifests pass a strict schema check against pinned Kubernetes and Prometheus Operator APIs", () => {
  for (const shards of [1, 8, 64]) {
    it(`${shards} shard(s): every document decodes strictly`, async () => {
      const yaml = await render(shards);
      const r = await validate(yaml);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^7 documents valid against .*k8s\.io\/api v0\.33\.4/);
      expect(yaml).not.toContain("PersistentVolumeClaim");
      expect(yaml).toContain(`completions: ${shards}\n`);
    });
  }

  it("the same with -o: one file, no secret in it", async () => {
    const out = join(dir, "out");
    await render(8, ["-o", out, "--run-id", "e2e-run", "--namespace", "load"]);
    const text = readFileSync(join(out, "lkswarm-e2e-run.yaml"), "utf8");
    expect(text).not.toContain(SECRET);
    expect((await validate(text)).code).toBe(0);
  });

  it("a renamed field fails, and the message names its path", async () => {
    const yaml = await render(8);
    const renamed = withChange(yaml, "Job", (job) => {
      const spec = record(job.spec);
      spec.completionMod = spec.completionMode;
      delete spec.completionMode;
      job.spec = spec;
    });
    const r = await validate(renamed);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(Job lkswarm-[^)]+\): unknown field "spec\.completionMod"/);
  });

  it("a renamed field deep in the pod template fails too", async () => {
    const yaml = await render(8);
    const r = await validate(yaml.replace("containerPort:", "containerPorts:"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /unknown field "spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPorts"/,
    );
  });

  it("a wrong type fails, and the message names the field", async () => {
    const yaml = await render(8, ["--pod-monitor"]);
    const r = await validate(
      withChange(yaml, "Job", (job) => {
        job.spec = { ...record(job.spec), completions: "eight" };
      }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.completions of type int32/);
    const monitor = await validate(
      withChange(yaml, "PodMonitor", (monitor) => {
        monitor.spec = { ...record(monitor.spec), podMetricsEndpoints: "every pod" };
      }),
    );
    expect(monitor.code).toBe(1);
    expect(monitor.stderr).toMatch(/PodMonitor .*podMetricsEndpoints/);
  });

  it("refuses --storage-class in one line: results no longer need a volume", async () => {
    const r = await swarm([
      "k8s",
      "render",
      "--scenario",
      scenario,
      "--shards",
      "2",
      "--image",
      "x",
      "--url",
      "wss://lk.example.com",
      "--storage-class",
      "nfs-client",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "swarm: k8s render: --storage-class is gone: results no longer need a volume (the merge collects them from the shard pods); drop the flag\n",
    );
  });

  it("refuses more shards than rooms and a bad name, in one line, before writing anything", async () => {
    const tooMany = await swarm([
      "k8s",
      "render",
      "--scenario",
      scenario,
      "--shards",
      "129",
      "--image",
      "x",
      "--url",
      "wss://lk.example.com",
    ]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stdout).toBe("");
    expect(tooMany.stderr).toMatch(/--shards 129 is more than the scenario's 128 rooms/);
    const badNs = await swarm([
      "k8s",
      "render",
      "--scenario",
      scenario,
      "--shards",
      "2",
      "--image",
      "x",
      "--url",
      "wss://lk.example.com",
      "--namespace",
      "Load_Test",
    ]);
    expect(badNs.code).toBe(1);
    expect(badNs.stderr).toMatch(/--namespace "Load_Test" is not a Kubernetes name/);
  });

  it("refuses an -o that is a file or cannot be made, in one line (a file traced, /proc/x spun at 90% CPU)", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    const args = [
      "k8s",
      "render",
      "--scenario",
      scenario,
      "--shards",
      "2",
      "--image",
      "x",
      "--url",
      "wss://lk.example.com",
    ];
    const onFile = await swarm([...args, "-o", file], {}, 30_000);
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toMatch(
      /^swarm: the output folder .*a-file is a file: pass another folder with --output\n$/,
    );
    const inProc = await swarm([...args, "-o", "/proc/lkswarm-x"], {}, 30_000);
    expect(inProc.code).toBe(1);
    expect(inProc.stderr).toMatch(
      /^swarm: the output folder \/proc\/lkswarm-x cannot be created \(E[A-Z]+ at \/proc\/lkswarm-x\)/,
    );
  });
});

describe("swarm k8s merge: the merge Job's reads of the API", () => {
  it("outside a pod, says where it runs instead of hanging", async () => {
    const r = await swarm(["k8s", "merge", "--job", "lkswarm-x"], { KUBERNETES_SERVICE_HOST: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not inside a Kubernetes pod.*from outside, use `swarm k8s fetch`/);
  });

  it("reads a TLS API server it trusts through NODE_EXTRA_CA_CERTS, sending the token, and retries one it does not trust", async () => {
    // an API server with a self-signed certificate, as a cluster's CA signs the real one
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "api.key"),
        "-out",
        join(dir, "ca.crt"),
      ],
      { stdio: "ignore" },
    );
    const seen: { url: string; auth: string }[] = [];
    const job = { spec: { completions: 2, activeDeadlineSeconds: 600 }, status: { active: 2 } };
    const server = createServer(
      { key: readFileSync(join(dir, "api.key")), cert: readFileSync(join(dir, "ca.crt")) },
      (req, res) => {
        seen.push({ url: req.url ?? "", auth: req.headers.authorization ?? "" });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(job));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const script = `
      import { apiGet } from "@livekit-swarm/k8s";
      const read = await apiGet(
        { base: "https://127.0.0.1:${port}", namespace: "load", token: async () => "t0ken" },
        "/apis/batch/v1/namespaces/load/jobs/lkswarm-x",
        "job lkswarm-x",
      );
      process.stdout.write(JSON.stringify(read));`;
    const read = (env: NodeJS.ProcessEnv) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ["--input-type=module", "-e", script],
          { cwd: join(ROOT, "packages/cli"), env: { ...process.env, ...env }, timeout: 30_000 },
          (err, stdout, stderr) => {
            if (err === null) resolve(stdout);
            else reject(new Error(`${err.message}\n${stderr}`));
          },
        );
      });
    try {
      expect(JSON.parse(await read({ NODE_EXTRA_CA_CERTS: join(dir, "ca.crt") }))).toEqual({ json: job });
      expect(seen).toEqual([{ url: "/apis/batch/v1/namespaces/load/jobs/lkswarm-x", auth: "Bearer t0ken" }]);
      // a certificate it does not trust is a network error: the merge retries it, never reads past it
      const untrusted = JSON.parse(await read({ NODE_EXTRA_CA_CERTS: "" })) as { retrying?: string };
      expect(untrusted.retrying).toBeDefined();
      expect(seen).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});
