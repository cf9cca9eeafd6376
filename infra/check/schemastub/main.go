// Command terraform-provider-azuread is a schema-only stand-in for the
// hashicorp/azuread provider, used by scripts/infra-check.sh so that
// `terraform validate` checks infra/ offline.
//
// Why it exists: the Go module proxy these machines reach refuses
// github.com/hashicorp/terraform-provider-azuread at every version newer
// than v1.6.0 (2021, which lacks the resources infra/ needs), so the real
// provider cannot be built here the way azurerm is. This program serves the
// schemas in azuread.schema.json over the plugin protocol; Terraform itself
// then checks every azuread block of infra/ against them (unknown or
// misspelt arguments, missing required ones, blocks that do not exist,
// references to attributes a resource does not export). It plans and
// applies nothing: every other call fails.
//
// The schema file uses the layout of `terraform providers schema -json` and
// was transcribed from the bindings generated from azuread 3.7.0's own
// schema (npm @cdktf/provider-azuread@14.3.1), for the resources and data
// sources infra/ uses. Using another azuread resource, or another argument,
// means adding it there; where the real provider is reachable, replace the
// file with the real `terraform providers schema -json` output.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

//go:embed azuread.schema.json
var schemaJSON []byte

func main() {
	s, err := loadSchemas(schemaJSON)
	if err != nil {
		log.Fatal(err)
	}
	if err := tf6server.Serve("registry.terraform.io/hashicorp/azuread", func() tfprotov6.ProviderServer { return s }); err != nil {
		log.Fatal(err)
	}
}

// server answers the calls `terraform validate` makes. The embedded
// interface is nil: any other call (plan, apply, read) panics, which is the
// right answer for a provider that must never touch a tenant.
type server struct {
	tfprotov6.ProviderServer
	schemas *tfprotov6.GetProviderSchemaResponse
}

func (s *server) GetMetadata(context.Context, *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	r := &tfprotov6.GetMetadataResponse{}
	for _, n := range sortedKeys(s.schemas.ResourceSchemas) {
		r.Resources = append(r.Resources, tfprotov6.ResourceMetadata{TypeName: n})
	}
	for _, n := range sortedKeys(s.schemas.DataSourceSchemas) {
		r.DataSources = append(r.DataSources, tfprotov6.DataSourceMetadata{TypeName: n})
	}
	return r, nil
}

func (s *server) GetProviderSchema(context.Context, *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	return s.schemas, nil
}

func (s *server) GetResourceIdentitySchemas(context.Context, *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov6.GetResourceIdentitySchemasResponse{}, nil
}

func (s *server) ValidateProviderConfig(_ context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	return &tfprotov6.ValidateProviderConfigResponse{PreparedConfig: req.Config}, nil
}

func (s *server) ValidateResourceConfig(context.Context, *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return &tfprotov6.ValidateResourceConfigResponse{}, nil
}

func (s *server) ValidateDataResourceConfig(context.Context, *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return &tfprotov6.ValidateDataResourceConfigResponse{}, nil
}

func (s *server) GetFunctions(context.Context, *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	return &tfprotov6.GetFunctionsResponse{}, nil
}

func (s *server) StopProvider(context.Context, *tfprotov6.StopProviderRequest) (*tfprotov6.StopProviderResponse, error) {
	return &tfprotov6.StopProviderResponse{}, nil
}

// The file format: a subset of `terraform providers schema -json`.
type schemaFile struct {
	Provider          jsonSchema            `json:"provider"`
	ResourceSchemas   map[string]jsonSchema `json:"resource_schemas"`
	DataSourceSchemas map[string]jsonSchema `json:"data_source_schemas"`
}

type jsonSchema struct {
	Version int64     `json:"version"`
	Block   jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes map[string]jsonAttribute `json:"attributes"`
	BlockTypes map[string]jsonBlockType `json:"block_types"`
}

type jsonAttribute struct {
	Type      json.RawMessage `json:"type"`
	Required  bool            `json:"required"`
	Optional  bool            `json:"optional"`
	Computed  bool            `json:"computed"`
	Sensitive bool            `json:"sensitive"`
}

type jsonBlockType struct {
	NestingMode string    `json:"nesting_mode"`
	Block       jsonBlock `json:"block"`
	MinItems    int64     `json:"min_items"`
	MaxItems    int64     `json:"max_items"`
}

func loadSchemas(b []byte) (*server, error) {
	var f schemaFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("schema file: %w", err)
	}
	r := &tfprotov6.GetProviderSchemaResponse{
		ResourceSchemas:   map[string]*tfprotov6.Schema{},
		DataSourceSchemas: map[string]*tfprotov6.Schema{},
		Functions:         map[string]*tfprotov6.Function{},
	}
	var err error
	if r.Provider, err = convertSchema("provider", f.Provider); err != nil {
		return nil, err
	}
	for n, s := range f.ResourceSchemas {
		if r.ResourceSchemas[n], err = convertSchema(n, s); err != nil {
			return nil, err
		}
	}
	for n, s := range f.DataSourceSchemas {
		if r.DataSourceSchemas[n], err = convertSchema("data."+n, s); err != nil {
			return nil, err
		}
	}
	return &server{schemas: r}, nil
}

func convertSchema(where string, s jsonSchema) (*tfprotov6.Schema, error) {
	b, err := convertBlock(where, s.Block)
	if err != nil {
		return nil, err
	}
	return &tfprotov6.Schema{Version: s.Version, Block: b}, nil
}

func convertBlock(where string, b jsonBlock) (*tfprotov6.SchemaBlock, error) {
	out := &tfprotov6.SchemaBlock{}
	for _, n := range sortedKeys(b.Attributes) {
		a := b.Attributes[n]
		t, err := convertType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", where, n, err)
		}
		if a.Required == a.Optional && !a.Computed || a.Required && a.Computed {
			return nil, fmt.Errorf("%s.%s: an attribute is exactly one of required, optional, computed or optional+computed", where, n)
		}
		out.Attributes = append(out.Attributes, &tfprotov6.SchemaAttribute{
			Name: n, Type: t, Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive,
		})
	}
	for _, n := range sortedKeys(b.BlockTypes) {
		bt := b.BlockTypes[n]
		nested, err := convertBlock(where+"."+n, bt.Block)
		if err != nil {
			return nil, err
		}
		mode, ok := nestingModes[bt.NestingMode]
		if !ok {
			return nil, fmt.Errorf("%s.%s: nesting_mode %q is not single, list, set or map", where, n, bt.NestingMode)
		}
		out.BlockTypes = append(out.BlockTypes, &tfprotov6.SchemaNestedBlock{
			TypeName: n, Block: nested, Nesting: mode, MinItems: bt.MinItems, MaxItems: bt.MaxItems,
		})
	}
	return out, nil
}

var nestingModes = map[string]tfprotov6.SchemaNestedBlockNestingMode{
	"single": tfprotov6.SchemaNestedBlockNestingModeSingle,
	"list":   tfprotov6.SchemaNestedBlockNestingModeList,
	"set":    tfprotov6.SchemaNestedBlockNestingModeSet,
	"map":    tfprotov6.SchemaNestedBlockNestingModeMap,
}

// convertType reads Terraform's JSON type notation: "string", "number",
// "bool", ["list"|"set"|"map", T] or ["object", {name: T}].
func convertType(raw json.RawMessage) (tftypes.Type, error) {
	var prim string
	if json.Unmarshal(raw, &prim) == nil {
		switch prim {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		}
		return nil, fmt.Errorf("unknown type %q", prim)
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return nil, errors.New("type must be a name or a [kind, element] pair")
	}
	var kind string
	if err := json.Unmarshal(pair[0], &kind); err != nil {
		return nil, errors.New("type kind must be a string")
	}
	if kind == "object" {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(pair[1], &fields); err != nil {
			return nil, fmt.Errorf("object type: %w", err)
		}
		attrs := map[string]tftypes.Type{}
		for n, ft := range fields {
			t, err := convertType(ft)
			if err != nil {
				return nil, fmt.Errorf("object field %s: %w", n, err)
			}
			attrs[n] = t
		}
		return tftypes.Object{AttributeTypes: attrs}, nil
	}
	elem, err := convertType(pair[1])
	if err != nil {
		return nil, err
	}
	switch kind {
	case "list":
		return tftypes.List{ElementType: elem}, nil
	case "set":
		return tftypes.Set{ElementType: elem}, nil
	case "map":
		return tftypes.Map{ElementType: elem}, nil
	}
	return nil, fmt.Errorf("unknown collection kind %q", kind)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
