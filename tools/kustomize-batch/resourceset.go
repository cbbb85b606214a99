package main

// Rendering a flux-operator ResourceSet offline, as its controller builds one: each entry of
// spec.resources and spec.resourcesTemplate is a Go text/template with `<< >>` delimiters and
// slim-sprig's hermetic functions (plus slugify, toYaml, mustToYaml), executed once per
// input set; `inputs` is the current set, with a `provider` block naming the ResourceSet.
// Objects alike by group, kind, namespace and name are kept once (the resources' first),
// and objects annotated `fluxcd.controlplane.io/reconcile: disabled` are left out.
//
// Inputs are the inline ones (spec.inputs), then those of the input providers the client
// resolved (Static ones, in the operator's order), flattened: the client does not ask for a
// ResourceSet whose inputs come from outside (GitHub, OCI tags), nor for the Permute
// strategy.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	sprig "github.com/go-task/slim-sprig/v3"
	"github.com/gosimple/slug"
	"sigs.k8s.io/yaml"
)

const resourceSetAPI = "fluxcd.controlplane.io/v1"

// inputProvider is a ResourceSetInputProvider's exported input sets.
type inputProvider struct {
	Name      string           `json:"name"`
	Namespace string           `json:"namespace"`
	Inputs    []map[string]any `json:"inputs"`
}

type resourceSet struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		CommonMetadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"commonMetadata"`
		Inputs []map[string]any `json:"inputs"`
		templates
		Steps []struct {
			Name string `json:"name"`
			templates
		} `json:"steps"`
	} `json:"spec"`
}

// templates are what a ResourceSet, or one of its steps, makes objects from.
type templates struct {
	Resources         []json.RawMessage `json:"resources"`
	ResourcesTemplate string            `json:"resourcesTemplate"`
}

func init() {
	// As the controller configures slugify: a label value's length, words kept whole.
	slug.MaxLength = 63
	slug.EnableSmartTruncate = true
}

// renderResourceSet gives the objects as multi-document YAML, or an error.
func renderResourceSet(raw json.RawMessage, providers []inputProvider) (string, error) {
	var rs resourceSet
	if err := json.Unmarshal(raw, &rs); err != nil {
		return "", fmt.Errorf("not a ResourceSet: %w", err)
	}
	var inputs []map[string]any
	add := func(sets []map[string]any, kind, name, namespace string) {
		for _, set := range sets {
			if set == nil {
				set = map[string]any{}
			}
			set["provider"] = map[string]any{"apiVersion": resourceSetAPI, "kind": kind,
				"name": name, "namespace": namespace}
			inputs = append(inputs, set)
		}
	}
	add(rs.Spec.Inputs, "ResourceSet", rs.Metadata.Name, rs.Metadata.Namespace)
	for _, p := range providers {
		add(p.Inputs, "ResourceSetInputProvider", p.Name, p.Namespace)
	}
	if len(inputs) == 0 {
		inputs = []map[string]any{nil} // no matrix: rendered once
	}
	var objects []map[string]any
	if len(rs.Spec.Steps) == 0 {
		made, err := rs.Spec.templates.build(inputs)
		if err != nil {
			return "", err
		}
		objects = made
	} else if len(rs.Spec.Resources) > 0 || rs.Spec.ResourcesTemplate != "" {
		return "", fmt.Errorf("spec.steps is mutually exclusive with spec.resources and " +
			"spec.resourcesTemplate")
	}
	stepOf := map[string]string{}
	for _, step := range rs.Spec.Steps { // applied in order; an object belongs to one step
		made, err := step.build(inputs)
		if err != nil {
			return "", fmt.Errorf("step %q: %w", step.Name, err)
		}
		for _, obj := range made {
			key := objectKey(obj)
			if first, found := stepOf[key]; found {
				return "", fmt.Errorf("step %q: %s is already made by step %q", step.Name,
					key, first)
			}
			stepOf[key] = step.Name
		}
		objects = append(objects, made...)
	}
	var out strings.Builder
	for _, obj := range objects {
		// As the controller applies them: its owner labels, then the common metadata.
		merge(obj, "labels", map[string]string{
			"resourceset.fluxcd.controlplane.io/name":      rs.Metadata.Name,
			"resourceset.fluxcd.controlplane.io/namespace": rs.Metadata.Namespace})
		merge(obj, "labels", rs.Spec.CommonMetadata.Labels)
		merge(obj, "annotations", rs.Spec.CommonMetadata.Annotations)
		text, err := yaml.Marshal(obj)
		if err != nil {
			return "", err
		}
		out.WriteString("---\n")
		out.Write(text)
	}
	return out.String(), nil
}

// build renders the templates for every input set: each object once (the first made,
// the resources' before the template's), none the operator is told to leave alone.
func (t templates) build(inputs []map[string]any) ([]map[string]any, error) {
	var objects []map[string]any
	seen := map[string]bool{}
	keep := func(docs []map[string]any) {
		for _, doc := range docs {
			key := objectKey(doc)
			if seen[key] || disabled(doc) {
				continue
			}
			seen[key] = true
			objects = append(objects, doc)
		}
	}
	for i, entry := range t.Resources {
		text, err := yaml.JSONToYAML(entry)
		if err != nil {
			return nil, fmt.Errorf("spec.resources[%d]: %w", i, err)
		}
		for _, set := range inputs {
			docs, err := execute(string(text), set)
			if err != nil {
				return nil, fmt.Errorf("spec.resources[%d]: %w", i, err)
			}
			keep(docs)
		}
	}
	if t.ResourcesTemplate != "" {
		for _, set := range inputs {
			docs, err := execute(t.ResourcesTemplate, set)
			if err != nil {
				return nil, fmt.Errorf("spec.resourcesTemplate: %w", err)
			}
			keep(docs)
		}
	}
	return objects, nil
}

// execute renders one template for one input set into the objects it holds.
func execute(text string, set map[string]any) ([]map[string]any, error) {
	tmpl, err := template.New("resourceset").Delims("<<", ">>").
		Funcs(sprig.HermeticTxtFuncMap()).
		Funcs(template.FuncMap{
			"slugify":    slug.Make,
			"toYaml":     toYAML,
			"mustToYaml": mustToYAML,
			"inputs":     func() any { return set },
		}).
		Option("missingkey=error").
		Parse(text)
	if err != nil {
		return nil, err // Go's own message: "template: resourceset:LINE:COL: ..."
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		return nil, err
	}
	var docs []map[string]any
	for _, chunk := range strings.Split("\n"+buf.String(), "\n---") {
		chunk = strings.TrimSpace(chunk)
		if chunk == "" {
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(chunk), &doc); err != nil {
			return nil, fmt.Errorf("rendered YAML: %w", err)
		}
		if len(doc) > 0 {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}

func toYAML(v any) string {
	text, err := mustToYAML(v)
	if err != nil {
		return ""
	}
	return text
}

func mustToYAML(v any) (string, error) {
	text, err := yaml.Marshal(v)
	return string(text), err
}

// merge sets the values into the object's metadata field (labels or annotations).
func merge(obj map[string]any, field string, values map[string]string) {
	if len(values) == 0 {
		return
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	found, ok := meta[field].(map[string]any)
	if !ok {
		found = map[string]any{}
		meta[field] = found
	}
	for k, v := range values {
		found[k] = v
	}
}

// objectKey is an object's identity on the cluster: group, kind, namespace, name.
func objectKey(doc map[string]any) string {
	apiVersion, _ := doc["apiVersion"].(string)
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	kind, _ := doc["kind"].(string)
	meta, _ := doc["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	return strings.Join([]string{group, kind, namespace, name}, "/")
}

func disabled(doc map[string]any) bool {
	meta, _ := doc["metadata"].(map[string]any)
	notes, _ := meta["annotations"].(map[string]any)
	value, _ := notes["fluxcd.controlplane.io/reconcile"].(string)
	return strings.EqualFold(value, "disabled")
}
