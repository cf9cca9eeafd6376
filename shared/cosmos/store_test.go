package cosmos_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
	"github.com/galsync/galsync/shared/cosmos/cosmostest"
	"github.com/galsync/galsync/shared/galsync"
)

func cursor(direction string, seq int64) galsync.Cursor {
	return galsync.Cursor{Direction: direction, Link: "https://graph.example/delta?t=" + fmt.Sprint(seq), NextSeq: seq}
}

// TestCursorConflict: two holders of one cursor version both advance it;
// the second write is detected as a conflict and changes nothing.
func TestCursorConflict(t *testing.T) {
	s := openStore(t, cosmostest.Start(t), cosmos.Options{})
	ctx := t.Context()
	base, err := s.PutCursor(ctx, cursor("a-to-b", 1))
	if err != nil {
		t.Fatal(err)
	}
	first := cursor("a-to-b", 2)
	first.ETag = base.ETag
	won, err := s.PutCursor(ctx, first)
	if err != nil {
		t.Fatalf("first advance: %v", err)
	}
	second := cursor("a-to-b", 3)
	second.ETag = base.ETag
	if _, err := s.PutCursor(ctx, second); !errors.Is(err, galsync.ErrConflict) {
		t.Fatalf("second advance from the same ETag: %v, want ErrConflict", err)
	}
	got, err := s.GetCursor(ctx, "a-to-b")
	if err != nil || got.NextSeq != 2 || got.ETag != won.ETag {
		t.Fatalf("cursor after the conflict: %+v, %v; want the first advance (seq 2, ETag %q)", got, err, won.ETag)
	}
}

// TestContainers: EnsureContainers is repeatable and deploys exactly the
// exported definitions; Open refuses a database whose containers are
// missing or partitioned differently.
func TestContainers(t *testing.T) {
	conn := cosmostest.Start(t)
	ctx := t.Context()
	const ttl = 36 * time.Hour
	s := openStore(t, conn, cosmos.Options{LogTTL: ttl})
	if err := s.EnsureContainers(ctx); err != nil {
		t.Fatalf("ensure again: %v", err)
	}
	cfg := configFor(t, conn, "")
	client, err := azcosmos.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defs := cosmos.Containers(ttl)
	if len(defs) != 6 {
		t.Fatalf("%d container definitions, want 6", len(defs))
	}
	for _, d := range defs {
		c, _ := client.NewContainer(s.Database(), d.Name)
		resp, err := c.Read(ctx, nil)
		if err != nil {
			t.Fatalf("read container %s: %v", d.Name, err)
		}
		p := resp.ContainerProperties
		if !slices.Equal(p.PartitionKeyDefinition.Paths, []string{d.PartitionKeyPath}) {
			t.Errorf("%s partitioned by %v, want %s", d.Name, p.PartitionKeyDefinition.Paths, d.PartitionKeyPath)
		}
		var gotTTL time.Duration
		if p.DefaultTimeToLive != nil {
			gotTTL = time.Duration(*p.DefaultTimeToLive) * time.Second
		}
		if gotTTL != d.DefaultTTL {
			t.Errorf("%s default TTL %v, want %v", d.Name, gotTTL, d.DefaultTTL)
		}
	}
	if log := defs[len(defs)-1]; log.Name != cosmos.ContainerLog || log.DefaultTTL != ttl {
		t.Errorf("log container %+v, want TTL %v", log, ttl)
	}
	if d := cosmos.Containers(0); d[len(d)-1].DefaultTTL != cosmos.DefaultLogTTL {
		t.Errorf("default log TTL %v, want %v", d[len(d)-1].DefaultTTL, cosmos.DefaultLogTTL)
	}

	// A database without containers.
	_, err = cosmos.Open(ctx, cfg, cosmos.Options{})
	if err == nil || !strings.Contains(err.Error(), `container "cursors"`) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("open without containers: %v; want every missing container named", err)
	}

	// A links container partitioned by the source user.
	if _, err := client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: cfg.Database}, nil); err != nil {
		t.Fatal(err)
	}
	db, _ := client.NewDatabase(cfg.Database)
	if _, err := db.CreateContainer(ctx, azcosmos.ContainerProperties{ID: cosmos.ContainerLinks,
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/sourceUserId"}}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = cosmos.Open(ctx, cfg, cosmos.Options{EnsureContainers: true})
	if err == nil || !strings.Contains(err.Error(), `container "links" is partitioned by [/sourceUserId], want [/direction]`) {
		t.Errorf("open with a links container partitioned by user: %v", err)
	}
}

// configFor is the configuration of a fresh database (or of db) on conn.
func configFor(t testing.TB, conn, db string) cosmos.Config {
	t.Helper()
	if db == "" {
		db = cosmostest.DatabaseName(t)
	}
	cfg, err := cosmos.ConfigFromEnv(env{config.CosmosConnection: conn, cosmos.DatabaseSetting: db}.get)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReservedKeyCharacters: keys holding characters Cosmos DB refuses in
// ids, or the escape character, are distinct records that round-trip.
func TestReservedKeyCharacters(t *testing.T) {
	s := openStore(t, cosmostest.Start(t), cosmos.Options{})
	ctx := t.Context()
	keys := []string{"a/b", "a%2Fb", `a\b`, "a?b", "a#b", "a b", "ünï"}
	for i, k := range keys {
		if _, err := s.PutLink(ctx, galsync.Link{Direction: "d/1", SourceUserID: k, SourceSeq: int64(i)}); err != nil {
			t.Fatalf("put link %q: %v", k, err)
		}
		if _, err := s.PutCursor(ctx, cursor(k, int64(i))); err != nil {
			t.Fatalf("put cursor %q: %v", k, err)
		}
	}
	for i, k := range keys {
		l, err := s.GetLink(ctx, "d/1", k)
		if err != nil || l.SourceUserID != k || l.SourceSeq != int64(i) {
			t.Errorf("link %q read back %+v, %v", k, l, err)
		}
		c, err := s.GetCursor(ctx, k)
		if err != nil || c.Direction != k || c.NextSeq != int64(i) {
			t.Errorf("cursor %q read back %+v, %v", k, c, err)
		}
	}
	var listed []string
	if err := s.ListLinks(ctx, "d/1", func(l galsync.Link) error { listed = append(listed, l.SourceUserID); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(listed, want) {
		t.Errorf("listed %q, want %q", listed, want)
	}
	if _, err := s.GetCursor(ctx, ""); err == nil || errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("get with an empty key: %v; want a refusal, not not-found", err)
	}
}

// countQueries counts the query requests a store sends.
type countQueries struct {
	n    atomic.Int64
	next policy.Transporter
}

func (c *countQueries) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("x-ms-documentdb-isquery") == "true" || req.Header.Get("Content-Type") == "application/query+json" {
		c.n.Add(1)
	}
	return c.next.Do(req)
}

// TestPaging: ListLinks and QueryLog follow continuation pages.
func TestPaging(t *testing.T) {
	queries := &countQueries{next: http.DefaultClient}
	s := openStore(t, cosmostest.Start(t), cosmos.Options{PageSize: 7, Transport: queries})
	ctx := t.Context()
	for i := range 30 {
		if _, err := s.PutLink(ctx, galsync.Link{Direction: "d", SourceUserID: fmt.Sprintf("u%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := queries.n.Load()
	n := 0
	if err := s.ListLinks(ctx, "d", func(galsync.Link) error { n++; return nil }); err != nil || n != 30 {
		t.Fatalf("listed %d links, %v; want 30", n, err)
	}
	if pages := queries.n.Load() - before; pages < 5 {
		t.Errorf("listing 30 links in pages of 7 took %d query requests", pages)
	}
}

// TestLog covers what the conformance suite leaves to the backend: a
// retried AppendLog does not log twice, entries of one call with one time
// keep their order, entries without a time get the clock's, and queries
// across partitions page, sort and limit.
func TestLog(t *testing.T) {
	now := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)
	s := openStore(t, cosmostest.Start(t), cosmos.Options{PageSize: 4, Now: func() time.Time { return now }})
	ctx := t.Context()
	at := time.Date(2026, 11, 5, 8, 0, 0, 0, time.UTC)
	var batch []galsync.LogEntry
	for i := range 12 {
		batch = append(batch, galsync.LogEntry{Time: at, Direction: fmt.Sprintf("d%d", i%3), SourceUserID: "u1",
			Action: galsync.ActionUpdate, Outcome: galsync.OutcomeSuccess, Seq: int64(i)})
	}
	for range 2 { // the second call is a retry of the first
		if err := s.AppendLog(ctx, batch...); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := s.AppendLog(ctx, galsync.LogEntry{Direction: "d0", SourceUserID: "u1", Action: galsync.ActionSkip}); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryLog(ctx, galsync.LogQuery{SourceUserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range got {
		seqs = append(seqs, e.Seq)
	}
	if want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0}; !slices.Equal(seqs, want) {
		t.Fatalf("user query across directions: seqs %v, want %v (each once, in append order, the stamped entry last)", seqs, want)
	}
	if !got[12].Time.Equal(now) {
		t.Errorf("entry without a time stamped %v, want the clock's %v", got[12].Time, now)
	}
	got, err = s.QueryLog(ctx, galsync.LogQuery{SourceUserID: "u1", Action: galsync.ActionUpdate, Limit: 5})
	if err != nil || len(got) != 5 || got[4].Seq != 4 {
		t.Fatalf("limited query across directions: %d entries, %v", len(got), err)
	}
	got, err = s.QueryLog(ctx, galsync.LogQuery{Direction: "d1", Limit: 3})
	if err != nil || len(got) != 3 || got[0].Seq != 1 || got[2].Seq != 7 {
		t.Fatalf("limited query in one direction: %+v, %v", got, err)
	}

	// An entry of no direction lands in the "" partition and is found.
	if err := s.AppendLog(ctx, galsync.LogEntry{Time: at, SourceUserID: "u9", Action: galsync.ActionResync}); err != nil {
		t.Fatalf("append an entry without a direction: %v", err)
	}
	got, err = s.QueryLog(ctx, galsync.LogQuery{SourceUserID: "u9"})
	if err != nil || len(got) != 1 || got[0].Action != galsync.ActionResync {
		t.Fatalf("entry without a direction: %+v, %v", got, err)
	}
}
