// dockerfile-check lints Dockerfiles with BuildKit's own linter (the rules `docker build --check`
// applies) and checks that every instruction parses, offline: no base image is pulled. The base
// images' config is taken as a bare Debian image's (PATH only), so no rule about what a base image
// sets is judged. Prints one line per finding; exit 1 when there is any.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/opencontainers/go-digest"
)

// offlineImages answers every base image with the same minimal config instead of asking a registry.
type offlineImages struct{}

const imageConfig = `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},` +
	`"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}`

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, digest.FromString(ref), []byte(imageConfig), nil
}

func main() {
	findings := 0
	for _, path := range os.Args[1:] {
		dt, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		sourceMap := llb.NewSourceMap(nil, path, "Dockerfile", dt)
		sourceMap.Definition = &llb.Definition{}
		results, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{SourceMap: sourceMap, MetaResolver: offlineImages{}})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(2)
		}
		for _, w := range results.Warnings {
			line := int32(0)
			if w.Location != nil && len(w.Location.Ranges) > 0 {
				line = w.Location.Ranges[0].Start.Line
			}
			fmt.Printf("%s:%d: %s: %s\n", path, line, w.RuleName, w.Detail)
			findings++
		}
		if results.Error != nil {
			fmt.Printf("%s: %s\n", path, results.Error.Message)
			findings++
		}
	}
	if findings > 0 {
		os.Exit(1)
	}
}
