package infra

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
	"github.com/galsync/galsync/shared/galsync"
)

var update = flag.Bool("update", false, "rewrite tests/testdata/code.json from the code")

// codeFactsPath is what the code declares, for infra/tests/*.tftest.hcl:
// Terraform cannot read Go, so this test writes the facts down and fails
// when the file is stale (go test ./infra -run TestCodeFacts -update).
const codeFactsPath = "tests/testdata/code.json"

// codeFacts are the facts of the code that the deployment must match.
type codeFacts struct {
	// SettingsRead: every app setting galsync's code reads.
	SettingsRead []string `json:"settings_read"`
	// HostRefs: %NAME% references in function.json; the host has no
	// default for them.
	HostRefs []string `json:"host_refs"`
	// TriggerConnections: the connection prefixes trigger bindings name.
	TriggerConnections []string `json:"trigger_connections"`
	// Queues: galsync's queues (galsync.Queues()).
	Queues []string `json:"queues"`
	// TriggeredQueues: the queues a function.json's serviceBusTrigger
	// listens on; the others are only sent to and read by galsync itself.
	TriggeredQueues []string `json:"triggered_queues"`
	// Containers: the store's containers at the default log retention.
	Containers map[string]codeContainer `json:"containers"`
}

type codeContainer struct {
	PartitionKey string `json:"partition_key"`
	// DefaultTTLSeconds is 0 when items do not expire.
	DefaultTTLSeconds int64 `json:"default_ttl_seconds"`
}

func readCodeFacts(t *testing.T) codeFacts {
	t.Helper()
	read := map[string]bool{cosmos.DatabaseSetting: true}
	for _, n := range append(config.SettingNames(), config.ConnectionSettingNames()...) {
		read[n] = true
	}
	refs, connections := hostResolved(t)
	f := codeFacts{
		SettingsRead:       sortedSet(read),
		HostRefs:           sortedSet(refs),
		TriggerConnections: sortedSet(connections),
		Queues:             append([]string(nil), galsync.Queues()...),
		Containers:         map[string]codeContainer{},
	}
	sort.Strings(f.Queues)
	triggered := map[string]bool{}
	for _, bindings := range functionBindings(t) {
		for _, b := range bindings {
			if q, ok := b["queueName"].(string); ok && b["type"] == "serviceBusTrigger" {
				triggered[q] = true
			}
		}
	}
	f.TriggeredQueues = sortedSet(triggered)
	for _, c := range cosmos.Containers(cosmos.DefaultLogTTL) {
		f.Containers[c.Name] = codeContainer{PartitionKey: c.PartitionKeyPath, DefaultTTLSeconds: int64(c.DefaultTTL / time.Second)}
	}
	return f
}

// TestCodeFactsFile: tests/testdata/code.json says what the code says.
func TestCodeFactsFile(t *testing.T) {
	want, err := json.MarshalIndent(readCodeFacts(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(codeFactsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(codeFactsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(codeFactsPath)
	if err != nil {
		t.Fatalf("%v (write it with: go test ./infra -run TestCodeFactsFile -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: the code's settings, queues or containers changed; rewrite it with\n  go test ./infra -run TestCodeFactsFile -update\nand run make infra-check. Want:\n%s", codeFactsPath, want)
	}
}
