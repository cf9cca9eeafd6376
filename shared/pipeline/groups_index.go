package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// linkIndex is what a run needs of a direction's links, read once.
type linkIndex struct {
	loaded bool
	// member: source user → its guest, for links whose guest is active and
	// in scope; source: every guest galsync manages → its source user.
	member    map[string]string
	source    map[string]string
	invitedAt map[string]time.Time
}

func (x *linkIndex) load(ctx context.Context, st GroupStore, d *Direction) error {
	if x.loaded {
		return nil
	}
	x.member, x.source, x.invitedAt = map[string]string{}, map[string]string{}, map[string]time.Time{}
	err := st.ListLinks(ctx, d.Name, func(l galsync.Link) error {
		if l.TargetUserID == "" {
			return nil
		}
		target := strings.ToLower(l.TargetUserID)
		x.source[target] = l.SourceUserID
		if !l.InvitedAt.IsZero() {
			x.invitedAt[target] = l.InvitedAt
		}
		// A guest joins its groups once it was reconciled: before that it
		// may not be on every replica yet, and its first reconcile asks
		// for a run of the groups anyway.
		if l.State != galsync.LinkActive || l.ReconciledAt.IsZero() {
			return nil
		}
		if len(l.Source) > 0 {
			if in, _ := d.Rules.InScope(galsync.SourceUser{ID: l.SourceUserID, Attributes: l.Source}); !in {
				return nil
			}
		}
		x.member[strings.ToLower(l.SourceUserID)] = l.TargetUserID
		return nil
	})
	if err != nil {
		return fmt.Errorf("groups %s: list links: %w", d.Name, err)
	}
	x.loaded = true
	return nil
}

// desired are the guests of the source members that have one.
func (x *linkIndex) desired(members []string) []string {
	out := make([]string, 0, len(members))
	for _, m := range members {
		if g, ok := x.member[m]; ok {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// diff: desired members the group lacks, and the group's members galsync
// manages that are not desired (others are left alone).
func (x *linkIndex) diff(desired, actual []string) (adds, removes []string) {
	want, have := map[string]bool{}, map[string]bool{}
	for _, id := range desired {
		want[strings.ToLower(id)] = true
	}
	for _, id := range actual {
		have[strings.ToLower(id)] = true
	}
	for _, id := range desired {
		if !have[strings.ToLower(id)] {
			adds = append(adds, id)
		}
	}
	for _, id := range actual {
		if _, managed := x.source[strings.ToLower(id)]; managed && !want[strings.ToLower(id)] {
			removes = append(removes, id)
		}
	}
	slices.Sort(removes)
	return adds, removes
}

func (x *linkIndex) fresh(target string, now time.Time, grace time.Duration) bool {
	at, ok := x.invitedAt[strings.ToLower(target)]
	return ok && now.Sub(at) < grace
}
