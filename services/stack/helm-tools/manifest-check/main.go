// manifest-check reads rendered Kubernetes manifests (multi-document YAML, e.g. `helm template`
// output) on stdin, decodes each document strictly into the typed structs of k8s.io/api (the
// client-go scheme: an unknown or duplicated field, a wrong type or an unknown kind is an error),
// and prints the documents as one JSON array on stdout, so the Node tests can assert on them
// without a YAML parser of their own. Exit 1 names every document that failed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

func main() {
	docs, failures := check(os.Stdin)
	for _, f := range failures {
		fmt.Fprintln(os.Stderr, f)
	}
	out, err := json.Marshal(docs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(out)
	if len(failures) > 0 {
		os.Exit(1)
	}
}

func check(in io.Reader) ([]json.RawMessage, []string) {
	// EnableStrict: unknown fields and duplicate keys fail the decode instead of being dropped.
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	docs := []json.RawMessage{}
	failures := []string{}
	for i := 0; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, failures
		}
		if err != nil {
			return docs, append(failures, fmt.Sprintf("document %d: %v", i, err))
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		asJSON, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			failures = append(failures, fmt.Sprintf("document %d: %v", i, err))
			continue
		}
		if _, gvk, err := decoder.Decode(asJSON, nil, nil); err != nil {
			failures = append(failures, fmt.Sprintf("document %d (%s): %v", i, describe(gvk, raw), err))
			continue
		}
		docs = append(docs, asJSON)
	}
}

// stripComments drops whole-line comments: helm prints a `# Source:` line before each document.
func stripComments(raw []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func describe(gvk *schema.GroupVersionKind, raw []byte) string {
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("# Source: ")) {
			return string(bytes.TrimPrefix(line, []byte("# Source: ")))
		}
	}
	if gvk != nil {
		return gvk.String()
	}
	return "unknown kind"
}
