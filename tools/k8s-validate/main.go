// k8s-validate strictly decodes Kubernetes manifests into the typed structs of a pinned
// Kubernetes release (go.mod pins k8s.io/api and the Prometheus Operator's monitoring API), so an
// unknown field, a duplicate key or a value of the wrong type fails with the field's path. It
// checks shape, not semantics: no API server runs here.
//
// Usage: k8s-validate [FILE...]   (no file, or "-": standard input; YAML, documents split by ---)
// Exit 0 when every document decodes, 1 with one line per problem on stderr otherwise.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// typed returns an empty struct for a document's apiVersion and kind, or nil when the kind is not one this tool knows.
func typed(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}
	case "v1 Pod":
		return &corev1.Pod{}
	case "batch/v1 Job":
		return &batchv1.Job{}
	case "rbac.authorization.k8s.io/v1 Role":
		return &rbacv1.Role{}
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return &rbacv1.RoleBinding{}
	case "monitoring.coreos.com/v1 PodMonitor":
		return &monitoringv1.PodMonitor{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}
	}
	return nil
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// check decodes one document strictly and returns its problems, each naming the document.
func check(source string, index int, doc []byte) []string {
	where := fmt.Sprintf("%s: document %d", source, index)
	asJSON, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	if string(bytes.TrimSpace(asJSON)) == "null" {
		return nil
	}
	var h header
	if err := kjson.UnmarshalCaseSensitivePreserveInts(asJSON, &h); err != nil {
		return []string{fmt.Sprintf("%s: not a Kubernetes object: %v", where, err)}
	}
	where = fmt.Sprintf("%s (%s %s)", where, h.Kind, h.Metadata.Name)
	target := typed(h.APIVersion, h.Kind)
	if target == nil {
		return []string{fmt.Sprintf("%s: unknown apiVersion %q kind %q", where, h.APIVersion, h.Kind)}
	}
	strict, err := kjson.UnmarshalStrict(asJSON, target)
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", where, err))
	}
	for _, s := range strict {
		problems = append(problems, fmt.Sprintf("%s: %v", where, s))
	}
	return problems
}

func validate(source string, in io.Reader) (int, []string, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var problems []string
	count := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return count, problems, nil
		}
		if err != nil {
			return count, problems, fmt.Errorf("%s: %w", source, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		count++
		problems = append(problems, check(source, count, doc)...)
	}
}

func main() {
	files := os.Args[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	total := 0
	failed := false
	for _, f := range files {
		var in io.Reader = os.Stdin
		source := "stdin"
		if f != "-" {
			file, err := os.Open(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer file.Close()
			in, source = file, f
		}
		count, problems, err := validate(source, in)
		total += count
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
			failed = true
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	if total == 0 {
		fmt.Fprintln(os.Stderr, "no Kubernetes documents in the input")
		os.Exit(1)
	}
	fmt.Printf("%d documents valid against %s\n", total, pinned())
}

// pinned names the API modules this binary was built with, from its build info (go.mod pins them).
func pinned() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "the pinned API modules"
	}
	names := ""
	for _, dep := range info.Deps {
		switch dep.Path {
		case "k8s.io/api", "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring":
			if names != "" {
				names += ", "
			}
			names += dep.Path + " " + dep.Version
		}
	}
	return names
}
