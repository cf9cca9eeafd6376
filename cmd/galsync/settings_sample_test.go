package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
)

// TestSampleListsEverySetting: local.settings.sample.json names every app
// setting galsync reads, and nothing it does not.
func TestSampleListsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../../local.settings.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Values map[string]string }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("local.settings.sample.json: %v", err)
	}
	read := map[string]bool{cosmos.DatabaseSetting: true}
	for _, n := range append(config.SettingNames(), config.ConnectionSettingNames()...) {
		read[n] = true
	}
	for n := range read {
		if _, ok := doc.Values[n]; !ok {
			t.Errorf("local.settings.sample.json lacks %s", n)
		}
	}
	platform := map[string]bool{"FUNCTIONS_WORKER_RUNTIME": true, "AzureWebJobsStorage": true}
	for n := range doc.Values {
		if !read[n] && !platform[n] {
			t.Errorf("local.settings.sample.json sets %s, which galsync does not read", n)
		}
	}
}
