package cosmostest_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/cosmos/cosmostest"
)

// TestStandIn checks, with the real azcosmos client, the behaviour of the
// stand-in that galsync's adapter relies on, so a change of the npm package
// or its patch shows up here rather than as a puzzling adapter failure.
func TestStandIn(t *testing.T) {
	ctx := t.Context()
	conn := cosmostest.Start(t)
	if !strings.HasPrefix(conn, "AccountEndpoint=http://127.0.0.1:") {
		t.Fatalf("connection string %q", conn)
	}
	client, err := azcosmos.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: "db"}, nil); err != nil {
		t.Fatalf("create database: %v", err)
	}
	if _, err := client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: "db"}, nil); status(err) != http.StatusConflict {
		t.Fatalf("create the database again: %v, want 409", err)
	}
	db, _ := client.NewDatabase("db")
	_, err = db.CreateContainer(ctx, azcosmos.ContainerProperties{ID: "c",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/pk"}}}, nil)
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	c, _ := db.NewContainer("c")
	pk := azcosmos.NewPartitionKeyString("p")

	// The patch: a missing item, or one read under another partition key, is 404.
	if _, err := c.ReadItem(ctx, pk, "missing", nil); status(err) != http.StatusNotFound {
		t.Fatalf("read a missing item: %v, want 404", err)
	}
	created, err := c.CreateItem(ctx, pk, []byte(`{"id":"a%2Fb","pk":"p","v":1}`), nil)
	if err != nil {
		t.Fatalf("create item: %v", err)
	}
	if created.ETag == "" {
		t.Fatal("create returned no ETag")
	}
	if _, err := c.ReadItem(ctx, azcosmos.NewPartitionKeyString("q"), "a%2Fb", nil); status(err) != http.StatusNotFound {
		t.Fatalf("read under another partition key: %v, want 404", err)
	}
	if _, err := c.CreateItem(ctx, pk, []byte(`{"id":"a%2Fb","pk":"p","v":2}`), nil); status(err) != http.StatusConflict {
		t.Fatalf("create twice: %v, want 409", err)
	}
	read, err := c.ReadItem(ctx, pk, "a%2Fb", nil)
	if err != nil || read.ETag != created.ETag {
		t.Fatalf("read: %v, ETag %q, want %q", err, read.ETag, created.ETag)
	}
	replaced, err := c.ReplaceItem(ctx, pk, "a%2Fb", []byte(`{"id":"a%2Fb","pk":"p","v":3}`),
		&azcosmos.ItemOptions{IfMatchEtag: &created.ETag})
	if err != nil || replaced.ETag == created.ETag {
		t.Fatalf("replace with the current ETag: %v (ETag %q)", err, replaced.ETag)
	}
	_, err = c.ReplaceItem(ctx, pk, "a%2Fb", []byte(`{"id":"a%2Fb","pk":"p","v":4}`),
		&azcosmos.ItemOptions{IfMatchEtag: &created.ETag})
	if status(err) != http.StatusPreconditionFailed {
		t.Fatalf("replace with a stale ETag: %v, want 412", err)
	}
	_, err = c.ReplaceItem(ctx, pk, "gone", []byte(`{"id":"gone","pk":"p"}`), &azcosmos.ItemOptions{IfMatchEtag: &created.ETag})
	if status(err) != http.StatusNotFound {
		t.Fatalf("replace a missing item: %v, want 404", err)
	}
	if _, err := c.DeleteItem(ctx, pk, "gone", nil); status(err) != http.StatusNotFound {
		t.Fatalf("delete a missing item: %v, want 404", err)
	}
}

// TestStandInLimits: the patch makes the stand-in refuse what Cosmos DB
// refuses, on create, upsert and replace alike: an item over 2 MB with 413
// RequestEntityTooLarge, an id with / \ ? # or over 255 characters and a
// partition key value over 2 KB with 400 BadRequest.
// https://learn.microsoft.com/azure/cosmos-db/concepts-limits#per-item-limits
func TestStandInLimits(t *testing.T) {
	ctx := t.Context()
	client, err := azcosmos.NewClientFromConnectionString(cosmostest.Start(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: "db"}, nil); err != nil {
		t.Fatal(err)
	}
	db, _ := client.NewDatabase("db")
	_, err = db.CreateContainer(ctx, azcosmos.ContainerProperties{ID: "c",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/pk"}, Version: 2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := db.NewContainer("c")
	pk := azcosmos.NewPartitionKeyString("p")
	item := func(id, pk string, size int) []byte {
		return []byte(fmt.Sprintf(`{"id":%q,"pk":%q,"v":%q}`, id, pk, strings.Repeat("x", size)))
	}
	if _, err := c.CreateItem(ctx, pk, item("ok", "p", 10), nil); err != nil {
		t.Fatal(err)
	}
	const mb2 = 2 * 1024 * 1024
	writes := map[string]func(body []byte) error{
		"create": func(b []byte) error { _, err := c.CreateItem(ctx, pk, b, nil); return err },
		"upsert": func(b []byte) error { _, err := c.UpsertItem(ctx, pk, b, nil); return err },
		"replace": func(b []byte) error {
			_, err := c.ReplaceItem(ctx, pk, "ok", b, nil)
			return err
		},
	}
	for op, write := range writes {
		id := "ok"
		if op != "replace" {
			id = "new-" + op
		}
		for _, tc := range []struct {
			what         string
			body         []byte
			status       int
			code, inText string
		}{
			{"an item over 2 MB", item(id, "p", mb2), http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request size is too large"},
			{"an id with a slash", item("a/b", "p", 1), http.StatusBadRequest, "BadRequest", "The input name 'a/b' is invalid"},
			{"an id with #", item("a#b", "p", 1), http.StatusBadRequest, "BadRequest", "is invalid"},
			{"an id of 256 characters", item(strings.Repeat("i", 256), "p", 1), http.StatusBadRequest, "BadRequest", "less than '255' characters"},
			{"a partition key of 2,049 bytes", item(id, strings.Repeat("p", 2049), 1), http.StatusBadRequest, "BadRequest", "exceeds the limit of 2048 bytes"},
		} {
			err := write(tc.body)
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.status || !strings.Contains(err.Error(), `"code": "`+tc.code+`"`) || !strings.Contains(err.Error(), tc.inText) {
				t.Errorf("%s of %s: %v; want %d %s naming %q", op, tc.what, err, tc.status, tc.code, tc.inText)
			}
		}
		if err := write(item(id, "p", mb2-1024)); err != nil {
			t.Errorf("%s of an item just under 2 MB: %v", op, err)
		}
	}
	if _, err := c.CreateItem(ctx, pk, item(strings.Repeat("i", 255), "p", 1), nil); err != nil {
		t.Errorf("create with an id of 255 characters: %v", err)
	}
}

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
