/**
 * The cluster testbed's certificates, made with openssl for this one testbed (RSA 2048, 30 days):
 * a CA, the API server's serving certificate, one client certificate per component and the admin,
 * the kubelet's serving certificate, and the service-account signing key. Keys are 0600 in a 0700
 * folder, and `down` leaves them behind with the run directory, as it does every log.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ClientIdentity {
  /** Becomes the certificate's CN: the user Kubernetes sees. */
  readonly user: string;
  /** Becomes O: the user's group. */
  readonly group?: string;
}

/** The clients of the API server, by file name. */
export const CLIENTS = {
  admin: { user: "lkswarm-admin", group: "system:masters" },
  "controller-manager": { user: "system:kube-controller-manager" },
  scheduler: { user: "system:kube-scheduler" },
  kubelet: { user: "system:node:lkswarm-node", group: "system:nodes" },
  "apiserver-kubelet-client": { user: "kube-apiserver-kubelet-client", group: "system:masters" },
} as const satisfies Record<string, ClientIdentity>;

export type ClientName = keyof typeof CLIENTS;

const DAYS = "30";

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function issue(
  dir: string,
  name: string,
  subject: string,
  usage: "serverAuth" | "clientAuth",
  altNames: readonly string[] = [],
): void {
  openssl(["genrsa", "-out", `${name}.key`, "2048"], dir);
  openssl(["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`], dir);
  writeFileSync(
    join(dir, `${name}.ext`),
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage=${usage}`,
      ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(",")}`] : []),
      "",
    ].join("\n"),
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      DAYS,
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ],
    dir,
  );
  rmSync(join(dir, `${name}.csr`));
  rmSync(join(dir, `${name}.ext`));
}

/** Writes every certificate and key into `dir` (which must exist, private). */
export function makeClusterPki(
  dir: string,
  addresses: { hostIp: string; serviceIp: string; nodeName: string },
): void {
  openssl(["genrsa", "-out", "ca.key", "2048"], dir);
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-nodes",
      "-key",
      "ca.key",
      "-subj",
      "/CN=lkswarm-testbed-ca",
      "-days",
      DAYS,
      "-out",
      "ca.crt",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ],
    dir,
  );
  openssl(["genrsa", "-out", "sa.key", "2048"], dir);
  openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  issue(dir, "apiserver", "/CN=kube-apiserver", "serverAuth", [
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    `IP:${addresses.hostIp}`,
    `IP:${addresses.serviceIp}`,
  ]);
  for (const [name, id] of Object.entries(CLIENTS) as [ClientName, ClientIdentity][])
    issue(dir, name, `${id.group !== undefined ? `/O=${id.group}` : ""}/CN=${id.user}`, "clientAuth");
  issue(dir, "kubelet-serving", `/CN=${addresses.nodeName}`, "serverAuth", [
    `DNS:${addresses.nodeName}`,
    "IP:127.0.0.1",
    `IP:${addresses.hostIp}`,
  ]);
  for (const file of readdirSync(dir)) if (file.endsWith(".key")) chmodSync(join(dir, file), 0o600);
}
