package cosmostest_test

import (
	"errors"
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
	created, err := c.CreateItem(ctx, pk, []byte(`{"id":"a/b?#","pk":"p","v":1}`), nil)
	if err != nil {
		t.Fatalf("create item with reserved characters in its id: %v", err)
	}
	if created.ETag == "" {
		t.Fatal("create returned no ETag")
	}
	if _, err := c.ReadItem(ctx, azcosmos.NewPartitionKeyString("q"), "a/b?#", nil); status(err) != http.StatusNotFound {
		t.Fatalf("read under another partition key: %v, want 404", err)
	}
	if _, err := c.CreateItem(ctx, pk, []byte(`{"id":"a/b?#","pk":"p","v":2}`), nil); status(err) != http.StatusConflict {
		t.Fatalf("create twice: %v, want 409", err)
	}
	read, err := c.ReadItem(ctx, pk, "a/b?#", nil)
	if err != nil || read.ETag != created.ETag {
		t.Fatalf("read: %v, ETag %q, want %q", err, read.ETag, created.ETag)
	}
	replaced, err := c.ReplaceItem(ctx, pk, "a/b?#", []byte(`{"id":"a/b?#","pk":"p","v":3}`),
		&azcosmos.ItemOptions{IfMatchEtag: &created.ETag})
	if err != nil || replaced.ETag == created.ETag {
		t.Fatalf("replace with the current ETag: %v (ETag %q)", err, replaced.ETag)
	}
	_, err = c.ReplaceItem(ctx, pk, "a/b?#", []byte(`{"id":"a/b?#","pk":"p","v":4}`),
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

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
