// kstatus-check prints the status that kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) computes for
// Kubernetes objects: the same computation Flux (kustomize-controller's health checks, `flux`'s wait) and
// `kpt live status` use. It reads objects, never a cluster:
//
//	kubectl get tcr/to-shared-network -o json | kstatus-check
//	kubectl get cloudlink -A -o json | kstatus-check        # a List: one line per item
//	kstatus-check -o json object.yaml                       # JSON or YAML, several documents allowed
//
// Text output: one line per object, "<kind>/<name> <Status> <message>" (Status is one of Current,
// InProgress, Failed, Terminating, Unknown). JSON output: one JSON object per line with kind, namespace,
// name, status, message and the kstatus conditions.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Kind       string             `json:"kind"`
	Namespace  string             `json:"namespace,omitempty"`
	Name       string             `json:"name"`
	Status     status.Status      `json:"status"`
	Message    string             `json:"message"`
	Conditions []status.Condition `json:"conditions"`
}

func main() {
	output := flag.String("o", "text", "output format: text or json")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-o text|json] [FILE|-]\n\nPrints the kstatus of each object in FILE (default: stdin), JSON or YAML.\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *output != "text" && *output != "json" {
		fail("-o must be text or json, not %q", *output)
	}
	in := io.Reader(os.Stdin)
	switch flag.NArg() {
	case 0:
	case 1:
		if path := flag.Arg(0); path != "-" {
			f, err := os.Open(path)
			if err != nil {
				fail("%v", err)
			}
			defer f.Close()
			in = f
		}
	default:
		flag.Usage()
		os.Exit(2)
	}

	objects, err := read(in)
	if err != nil {
		fail("%v", err)
	}
	if len(objects) == 0 {
		fail("no Kubernetes object in the input")
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, u := range objects {
		res, err := status.Compute(u)
		if err != nil {
			fail("%s/%s: %v", u.GetKind(), u.GetName(), err)
		}
		r := result{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Status: res.Status, Message: res.Message, Conditions: res.Conditions}
		if r.Conditions == nil {
			r.Conditions = []status.Condition{}
		}
		if *output == "json" {
			line, _ := json.Marshal(r)
			fmt.Fprintf(out, "%s\n", line)
		} else {
			fmt.Fprintf(out, "%s/%s %s %s\n", r.Kind, r.Name, r.Status, r.Message)
		}
	}
}

// read decodes every YAML or JSON document of in; a List's items count as objects.
func read(in io.Reader) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(in, 4096)
	var objects []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objects, nil
			}
			return nil, fmt.Errorf("cannot decode the input: %w", err)
		}
		if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
			continue // an empty YAML document
		}
		// The unstructured JSON scheme keeps integers as int64 (metadata.generation, status.observedGeneration).
		decoded, _, err := unstructured.UnstructuredJSONScheme.Decode(raw, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("cannot read an object: %w", err)
		}
		switch o := decoded.(type) {
		case *unstructured.Unstructured:
			objects = append(objects, o)
		case *unstructured.UnstructuredList:
			for i := range o.Items {
				objects = append(objects, &o.Items[i])
			}
		default:
			return nil, fmt.Errorf("unexpected object %T", decoded)
		}
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kstatus-check: "+format+"\n", args...)
	os.Exit(1)
}
