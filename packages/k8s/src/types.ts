/**
 * The parts of Kubernetes' object shapes this package writes, typed so a misspelt field fails the
 * build here; tools/k8s-validate checks the rendered YAML against the real structs.
 */
export type Labels = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly annotations?: Labels;
}

interface KubeObject<V extends string, K extends string> {
  readonly apiVersion: V;
  readonly kind: K;
  readonly metadata: ObjectMeta;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
}

export interface Resources {
  readonly requests: {
    readonly cpu: string;
    readonly memory: string;
    /** So the pod lands on a node with room for its emptyDir. */
    readonly "ephemeral-storage"?: string;
  };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly args: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly {
    readonly name: string;
    readonly containerPort: number;
    readonly protocol: "TCP";
  }[];
  readonly resources: Resources;
  readonly securityContext: {
    readonly allowPrivilegeEscalation: boolean;
    readonly capabilities: { readonly drop: readonly string[] };
  };
  readonly volumeMounts?: readonly {
    readonly name: string;
    readonly mountPath: string;
    readonly readOnly?: boolean;
  }[];
}

export interface Volume {
  readonly name: string;
  readonly configMap?: { readonly name: string };
  readonly emptyDir?: { readonly sizeLimit: string };
}

export interface PodSpec {
  readonly restartPolicy: "Never";
  readonly subdomain?: string;
  readonly serviceAccountName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext: {
    readonly runAsNonRoot: boolean;
    readonly runAsUser: number;
    readonly runAsGroup: number;
    readonly fsGroup: number;
  };
  readonly topologySpreadConstraints?: readonly {
    readonly maxSkew: number;
    readonly topologyKey: string;
    readonly whenUnsatisfiable: "ScheduleAnyway" | "DoNotSchedule";
    readonly labelSelector: { readonly matchLabels: Labels };
  }[];
  readonly containers: readonly Container[];
  readonly volumes: readonly Volume[];
}

export interface Job extends KubeObject<"batch/v1", "Job"> {
  readonly spec: {
    readonly completionMode?: "Indexed";
    readonly completions?: number;
    readonly parallelism?: number;
    readonly backoffLimit?: number;
    readonly backoffLimitPerIndex?: number;
    readonly activeDeadlineSeconds?: number;
    readonly template: { readonly metadata: { readonly labels: Labels }; readonly spec: PodSpec };
  };
}

export interface ConfigMap extends KubeObject<"v1", "ConfigMap"> {
  readonly data: Labels;
}

export interface Service extends KubeObject<"v1", "Service"> {
  readonly spec: {
    readonly clusterIP: "None";
    readonly selector: Labels;
    readonly publishNotReadyAddresses: boolean;
    readonly ports: readonly {
      readonly name: string;
      readonly port: number;
      readonly targetPort: string;
      readonly protocol: "TCP";
    }[];
  };
}

export interface PodMonitor extends KubeObject<"monitoring.coreos.com/v1", "PodMonitor"> {
  readonly spec: {
    readonly selector: { readonly matchLabels: Labels };
    readonly podMetricsEndpoints: readonly {
      readonly port: string;
      readonly path: string;
      readonly interval: string;
    }[];
  };
}

export type ServiceAccount = KubeObject<"v1", "ServiceAccount">;

export interface Role extends KubeObject<"rbac.authorization.k8s.io/v1", "Role"> {
  readonly rules: readonly {
    readonly apiGroups: readonly string[];
    readonly resources: readonly string[];
    readonly resourceNames?: readonly string[];
    readonly verbs: readonly string[];
  }[];
}

export interface RoleBinding extends KubeObject<"rbac.authorization.k8s.io/v1", "RoleBinding"> {
  readonly roleRef: {
    readonly apiGroup: "rbac.authorization.k8s.io";
    readonly kind: "Role";
    readonly name: string;
  };
  readonly subjects: readonly {
    readonly kind: "ServiceAccount";
    readonly name: string;
    readonly namespace: string;
  }[];
}

export type Manifest = ConfigMap | Service | PodMonitor | ServiceAccount | Role | RoleBinding | Job;
