package infra

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/cosmos"
)

// variableDefault returns the literal default of variable name in
// variables.tf.
func variableDefault(t *testing.T, name string) string {
	t.Helper()
	src := readTF(t, ".")["variables.tf"]
	i := strings.Index(src, `variable "`+name+`" {`)
	if i < 0 {
		t.Fatalf("variables.tf has no variable %q", name)
	}
	m := regexp.MustCompile(`(?m)^\s*default\s*=\s*(.+)$`).FindStringSubmatch(expression(src, i))
	if m == nil {
		t.Fatalf("variable %q has no default", name)
	}
	return strings.Trim(strings.TrimSpace(m[1]), `"`)
}

// ttlSeconds evaluates a container's default_ttl as written in cosmos.tf:
// null, a number, or var.NAME * N (with NAME's default).
func ttlSeconds(t *testing.T, expr string) int64 {
	t.Helper()
	expr = strings.TrimSpace(expr)
	if expr == "null" || expr == "" {
		return 0
	}
	if n, err := strconv.ParseInt(expr, 10, 64); err == nil {
		return n
	}
	m := regexp.MustCompile(`^var\.([a-z0-9_]+)\s*\*\s*([0-9]+)$`).FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("default_ttl = %s: this test reads null, a number or var.NAME * N", expr)
	}
	v, err := strconv.ParseInt(variableDefault(t, m[1]), 10, 64)
	if err != nil {
		t.Fatalf("variable %s: %v", m[1], err)
	}
	k, _ := strconv.ParseInt(m[2], 10, 64)
	return v * k
}

// TestCosmosContainersMatchStore: cosmos.tf creates exactly the containers
// of the store adapter (cosmos.Containers), with the same partition keys
// and, at the variables' defaults, the same TTLs.
func TestCosmosContainersMatchStore(t *testing.T) {
	a := assignments(readTF(t, "."), "cosmos_containers")
	if len(a) != 1 {
		t.Fatalf("want one cosmos_containers local, found %d", len(a))
	}
	infra := topLevelKeys(a[0].expr)
	if len(infra) == 0 {
		t.Fatal("cosmos_containers lists no containers")
	}
	// GALSYNC_LOG_RETENTION's default, which infra/ derives from the same
	// variable as the log container's TTL.
	retention := time.Duration(ttlSeconds(t, "var.provisioning_log_retention_days * 86400")) * time.Second
	code := cosmos.Containers(retention)
	seen := map[string]bool{}
	for _, c := range code {
		seen[c.Name] = true
		body, ok := infra[c.Name]
		if !ok {
			t.Errorf("the store uses container %q; cosmos.tf does not create it", c.Name)
			continue
		}
		if pk := stringAttr(body, "partition_key"); pk != c.PartitionKeyPath {
			t.Errorf("container %q: cosmos.tf partitions by %q, the store by %q", c.Name, pk, c.PartitionKeyPath)
		}
		ttl := regexp.MustCompile(`default_ttl\s*=\s*([^,}]+)`).FindStringSubmatch(body)
		if ttl == nil {
			t.Errorf("container %q: no default_ttl in cosmos.tf", c.Name)
			continue
		}
		if got, want := ttlSeconds(t, ttl[1]), int64(c.DefaultTTL/time.Second); got != want {
			t.Errorf("container %q: cosmos.tf TTL %ds, the store's %ds", c.Name, got, want)
		}
	}
	for name := range infra {
		if !seen[name] {
			t.Errorf("cosmos.tf creates container %q, which the store does not use", name)
		}
	}
	if got := variableDefault(t, "cosmos_database_name"); got != cosmos.DefaultDatabase {
		t.Errorf("cosmos_database_name defaults to %q, the store to %q", got, cosmos.DefaultDatabase)
	}
	if retention != cosmos.DefaultLogTTL {
		t.Errorf("provisioning_log_retention_days defaults to %s, the store's DefaultLogTTL is %s", retention, cosmos.DefaultLogTTL)
	}
	// Every container's partition key is version 2, as the store creates them.
	if !regexp.MustCompile(`partition_key_version\s*=\s*2`).MatchString(readTF(t, ".")["cosmos.tf"]) {
		t.Error("cosmos.tf: want partition_key_version = 2 (the store creates hash v2 keys)")
	}
}
