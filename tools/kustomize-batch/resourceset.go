package main

// Rendering a flux-operator ResourceSet offline, as its controller builds one: each entry of
// spec.resources and spec.resourcesTemplate is a Go text/template with `<< >>` delimiters and
// slim-sprig's hermetic functions (plus slugify, toYaml, mustToYaml), executed once per
// input set; `inputs` is the current set, with a `provider` block naming where it came from
// (the ResourceSet, or one of its input providers).
// Objects alike by group, kind, namespace and name are kept once (the resources' first),
// and objects annotated `fluxcd.controlplane.io/reconcile: disabled` are left out.
//
// Inputs are the inline ones (spec.inputs), then those of the input providers the client
// resolved (Static ones, in the operator's order), flattened or permuted as
// spec.inputStrategy says: the client does not ask for a ResourceSet whose inputs come
// from outside (GitHub, OCI tags).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"strings"
	"text/template"
	"unicode"

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
		Inputs        []map[string]any `json:"inputs"`
		InputStrategy struct {
			Name                  string `json:"name"`
			IncludeEmptyProviders bool   `json:"includeEmptyProviders"`
		} `json:"inputStrategy"`
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
	// The ResourceSet's own inputs are the first provider's, then the providers' in order;
	// each set names where it came from.
	groups := [][]map[string]any{}
	names := []string{}
	add := func(sets []map[string]any, kind, name, namespace string) {
		group := []map[string]any{}
		for _, set := range sets {
			if set == nil {
				set = map[string]any{}
			}
			set["provider"] = map[string]any{"apiVersion": resourceSetAPI, "kind": kind,
				"name": name, "namespace": namespace}
			group = append(group, set)
		}
		groups = append(groups, group)
		names = append(names, name)
	}
	add(rs.Spec.Inputs, "ResourceSet", rs.Metadata.Name, rs.Metadata.Namespace)
	for _, p := range providers {
		add(p.Inputs, "ResourceSetInputProvider", p.Name, p.Namespace)
	}
	var inputs []map[string]any
	if rs.Spec.InputStrategy.Name == "Permute" {
		var err error
		if inputs, err = permute(groups, names, rs.Spec.InputStrategy.IncludeEmptyProviders); err != nil {
			return "", err
		}
		if len(inputs) == 0 {
			return "", nil // a product with an empty factor: nothing made
		}
	} else {
		for _, group := range groups {
			inputs = append(inputs, group...)
		}
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

// maxPermutations is the operator's bound on a Permute product.
const maxPermutations = 10000

// permute is the Permute strategy: every combination of one input set per provider (the
// first provider's outermost), each set under its provider's name as a template key, with
// an id from the combination (adler32 of "name=index/…", as the operator computes it).
// Providers with no input set are left out unless includeEmpty, which empties the product.
func permute(groups [][]map[string]any, names []string, includeEmpty bool,
) ([]map[string]any, error) {
	type factor struct {
		key  string
		sets []map[string]any
	}
	var factors []factor
	total := 1
	for i, sets := range groups {
		if len(sets) == 0 && !includeEmpty {
			continue
		}
		key := templateKey(names[i])
		if key == "" {
			return nil, fmt.Errorf("input provider name %q has no letter or digit", names[i])
		}
		total *= len(sets)
		if total > maxPermutations {
			return nil, fmt.Errorf("input provider %q makes more than %d permutations",
				names[i], maxPermutations)
		}
		factors = append(factors, factor{key, sets})
	}
	if len(factors) == 0 || total == 0 {
		return nil, nil
	}
	var out []map[string]any
	picked := make([]int, len(factors))
	for {
		perm := map[string]any{}
		parts := make([]string, len(factors))
		for i, f := range factors {
			perm[f.key] = f.sets[picked[i]]
			parts[i] = fmt.Sprintf("%s=%d", f.key, picked[i])
		}
		perm["id"] = fmt.Sprintf("%v", adler32.Checksum([]byte(strings.Join(parts, "/"))))
		out = append(out, perm)
		i := len(factors) - 1 // the next combination: the last provider's set first
		for ; i >= 0; i-- {
			picked[i]++
			if picked[i] < len(factors[i].sets) {
				break
			}
			picked[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

// templateKey is a provider name as a template key: lower case, spaces and punctuation as
// '_', other characters dropped, runs of '_' as one, none at either end.
func templateKey(name string) string {
	mapped := strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if unicode.IsSpace(r) || unicode.IsPunct(r) {
			return '_'
		}
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			return r
		}
		return -1
	}, name)
	var words []string
	for _, word := range strings.Split(mapped, "_") {
		if word != "" {
			words = append(words, word)
		}
	}
	return strings.Join(words, "_")
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
