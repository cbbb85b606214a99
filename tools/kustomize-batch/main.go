// kustomize-batch serves many `kubectl kustomize --load-restrictor LoadRestrictionsNone DIR`
// builds from one process, with the kustomize library kubectl embeds (the version go.mod
// pins matches the machine's kubectl).
//
// Requests, one JSON object per line on stdin:  {"id": 7, "dir": "/abs/folder"}
// Answers, one JSON object per line on stdout:   {"id": 7, "yaml": "..."}
//
//	or {"id": 7, "error": "..."} — the error as kubectl prints it on stderr.
//
// It also renders flux-operator ResourceSets (resourceset.go), which no CLI does alone:
// {"id": 8, "resourceset": {...the object...}, "providers": [...]} is answered with the
// objects it makes.
//
// Builds run one at a time, in the order asked: kustomize keeps its OpenAPI schema in
// process-wide state (a kustomization's `openapi` field replaces it), so builds are not
// safe to overlap. The process ends when stdin closes.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

type request struct {
	ID          int64           `json:"id"`
	Dir         string          `json:"dir"`
	ResourceSet json.RawMessage `json:"resourceset"`
	Providers   []inputProvider `json:"providers"`
}

type answer struct {
	ID    int64  `json:"id"`
	YAML  string `json:"yaml,omitempty"`
	Error string `json:"error,omitempty"`
}

// options are what kubectl's kustomize command builds with when given only
// --load-restrictor LoadRestrictionsNone (reorder unset: the kustomization's sortOptions,
// else legacy order; plugins and helm off; no managed-by label unless asked for).
func options() *krusty.Options {
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig.HelmConfig.Enabled = false
	opts.PluginConfig.HelmConfig.Command = "helm"
	opts.AddManagedbyLabel = false
	return opts
}

// builtinSchema names kustomize's own OpenAPI schema (read before any build).
var builtinSchema = openapi.GetSchemaVersion()

func build(fs filesys.FileSystem, dir string) (out answer) {
	defer func() {
		if r := recover(); r != nil { // kubectl would die here; the server answers and goes on
			out = answer{Error: fmt.Sprintf("panic: %v", r)}
			openapi.ResetOpenAPI()
		}
	}()
	defer func() {
		// A build that named its own schema leaves it behind: the next build starts clean,
		// as the next kubectl process would. (Not after every build: parsing the built-in
		// schema again costs ~0.1 s.)
		if openapi.GetSchemaVersion() != builtinSchema {
			openapi.ResetOpenAPI()
		}
	}()
	m, err := krusty.MakeKustomizer(options()).Run(fs, dir)
	if err == nil {
		var yml []byte
		yml, err = m.AsYaml()
		if err == nil {
			return answer{YAML: string(yml)}
		}
	}
	return answer{Error: kubectlMessage(err)}
}

// kubectlMessage is what kubectl prints on stderr for a failed build: klog's
// `"command failed" err=VALUE`, the value quoted as Go quotes a string, or, when it spans
// lines, `<` then each line after a tab, then ` >` on a line of its own.
func kubectlMessage(err error) string {
	text := err.Error()
	var b strings.Builder
	b.WriteString(`"command failed" err=`)
	if !strings.Contains(text, "\n") {
		b.WriteString(strconv.Quote(text))
		return b.String()
	}
	b.WriteString("<\n")
	lines := strings.SplitAfter(text, "\n")
	for _, line := range lines {
		if line == "" {
			continue // the text ended with a line break
		}
		b.WriteString("\t" + line)
	}
	if !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(" >")
	return b.String()
}

func main() {
	// Ctrl-C reaches the whole terminal's process group: the client ends this process
	// (closing stdin) once its own clean-up runs, not the signal.
	signal.Ignore(os.Interrupt)
	fs := filesys.MakeFsOnDisk()
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var req request
			var ans answer
			if err := json.Unmarshal(line, &req); err != nil ||
				(req.Dir == "" && len(req.ResourceSet) == 0) {
				ans = answer{ID: req.ID, Error: fmt.Sprintf("error: bad request: %q", line)}
			} else if len(req.ResourceSet) > 0 {
				ans = answer{ID: req.ID}
				yml, err := renderResourceSet(req.ResourceSet, req.Providers)
				if err != nil {
					ans.Error = err.Error()
				}
				ans.YAML = yml // none: no objects
			} else {
				ans = build(fs, req.Dir)
				ans.ID = req.ID
			}
			if err := enc.Encode(ans); err != nil {
				os.Exit(1)
			}
			if err := out.Flush(); err != nil {
				os.Exit(1)
			}
		}
		if readErr != nil {
			return // stdin closed: the client is done (or gone)
		}
	}
}
