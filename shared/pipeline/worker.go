package pipeline

import (
	"fmt"

	"github.com/galsync/galsync/shared/galsync"
)

// retiredSince says why item is stale if it was observed no later than the
// observation that retired link's guest: a scheduled retry or a replay of
// work from before the user left scope must neither re-enable the guest
// nor invite a new one. Deprovision items are ordered by SourceSeq instead.
func retiredSince(link galsync.Link, item galsync.WorkItem) (string, bool) {
	if link.RetiredSeq == 0 || item.Seq > link.RetiredSeq || item.Kind == galsync.WorkDeprovision {
		return "", false
	}
	return fmt.Sprintf("stale: the user left scope at seq %d and its guest was retired (%s); this item (seq %d) is older, "+
		"and only a newer observation in scope brings the guest back", link.RetiredSeq, link.State, item.Seq), true
}
