package storetest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// testLimits: a record Cosmos DB would refuse (over 2 MB, an id over 255
// characters, a partition key value over 2 KB) is refused by every
// backend with Cosmos DB's status, as a permanent error of the port's
// kind, and nothing of it is stored; what fits at the limits is stored.
// https://learn.microsoft.com/azure/cosmos-db/concepts-limits#per-item-limits
func testLimits(t *testing.T, s store.Store) {
	ctx := t.Context()

	huge := galsync.Link{Direction: linkDirection, SourceUserID: "huge", State: galsync.LinkActive,
		Source: galsync.Snapshot{"aboutMe": strings.Repeat("x", store.MaxItemSize)}}
	_, err := s.PutLink(ctx, huge)
	expectRefused(t, "a link of 2 MB", err, store.ErrTooLarge, http.StatusRequestEntityTooLarge)
	if _, err := s.GetLink(ctx, linkDirection, "huge"); !errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("get the refused link: %v, want ErrNotFound", err)
	}
	big := huge
	big.Source = galsync.Snapshot{"aboutMe": strings.Repeat("x", store.MaxItemSize-64*1024)}
	if _, err := s.PutLink(ctx, big); err != nil {
		t.Errorf("a link of 1.94 MB: %v", err)
	}

	seen := make([]string, store.MaxItemSize/36+1)
	for i := range seen {
		seen[i] = fmt.Sprintf("%036d", i)
	}
	err = s.SaveRoundPage(ctx, galsync.RoundPage{Direction: linkDirection, Round: "r", Page: 1, Seen: seen})
	expectRefused(t, "a round page of 2.3 MB", err, store.ErrTooLarge, http.StatusRequestEntityTooLarge)
	if pages, err := s.RoundPages(ctx, linkDirection, "r"); err != nil || len(pages) != 0 {
		t.Errorf("round pages after the refused save: %d, %v; want none", len(pages), err)
	}

	longID := strings.Repeat("u", store.MaxItemIDLength+1)
	_, err = s.PutLink(ctx, galsync.Link{Direction: linkDirection, SourceUserID: longID, State: galsync.LinkActive})
	expectRefused(t, "a link keyed by 256 characters", err, store.ErrInvalidKey, http.StatusBadRequest)
	if _, err := s.PutLink(ctx, galsync.Link{Direction: linkDirection, SourceUserID: longID[1:], State: galsync.LinkActive}); err != nil {
		t.Errorf("a link keyed by 255 characters: %v", err)
	}
	// Escaped characters count as Cosmos DB stores them: 100 slashes are
	// 300 characters of id.
	_, err = s.PutLink(ctx, galsync.Link{Direction: linkDirection, SourceUserID: strings.Repeat("/", 100), State: galsync.LinkActive})
	expectRefused(t, "a link keyed by 100 slashes", err, store.ErrInvalidKey, http.StatusBadRequest)

	longPK := strings.Repeat("d", store.MaxPartitionKeySize+1)
	_, err = s.PutLink(ctx, galsync.Link{Direction: longPK, SourceUserID: "u", State: galsync.LinkActive})
	expectRefused(t, "a link of a 2,049-byte direction", err, store.ErrInvalidKey, http.StatusBadRequest)
}

// cosmosCodes are the codes Cosmos DB gives the statuses of a refusal.
var cosmosCodes = map[int]string{http.StatusRequestEntityTooLarge: "RequestEntityTooLarge", http.StatusBadRequest: "BadRequest"}

func expectRefused(t *testing.T, what string, err, kind error, status int) {
	t.Helper()
	var refused *store.RefusedError
	switch {
	case !errors.Is(err, kind):
		t.Errorf("%s: %v, want %v", what, err, kind)
	case !errors.As(err, &refused) || refused.StatusCode != status || refused.Code != cosmosCodes[status] || refused.Message == "":
		t.Errorf("%s: %v, want Cosmos DB's refusal: %d %s with a message", what, err, status, cosmosCodes[status])
	case !galsync.IsPermanent(err):
		t.Errorf("%s: %v is not permanent", what, err)
	}
}
