package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// GroupDeltaReader reads groups/delta pages of one group.
type GroupDeltaReader interface {
	GroupDeltaPage(ctx context.Context, tenant, link, groupID string) (galsync.GroupDeltaPage, error)
}

// readGroupDelta applies a source group's groups/delta changes to its
// pair: its name, its direct user members, its nested groups, its
// deletion, and the delta link of the next round. A refused delta token
// starts a full round.
func readGroupDelta(ctx context.Context, g GroupDeltaReader, tenant string, p *galsync.GroupPair, now time.Time) error {
	link, full := p.DeltaLink, p.DeltaLink == ""
	members, nested := setOf(p.Members), setOf(p.Nested)
	if full {
		members, nested = map[string]bool{}, map[string]bool{}
	}
	seen := false
	for {
		page, err := g.GroupDeltaPage(ctx, tenant, link, p.SourceGroupID)
		if errors.Is(err, galsync.ErrDeltaExpired) && !full {
			link, full, seen = "", true, false
			members, nested = map[string]bool{}, map[string]bool{}
			continue
		}
		if err != nil {
			return err
		}
		for _, sg := range page.Groups {
			if !strings.EqualFold(sg.ID, p.SourceGroupID) {
				continue
			}
			seen = true
			if sg.Removed != "" {
				if p.SourceDeletedAt.IsZero() {
					p.SourceDeletedAt = now
				}
				continue
			}
			p.SourceDeletedAt = time.Time{}
			if sg.DisplayName != "" {
				p.SourceName = sg.DisplayName
			}
			for _, o := range sg.Added {
				switch strings.ToLower(o.Type) {
				case "user", "":
					members[strings.ToLower(o.ID)] = true
				case "group":
					nested[strings.ToLower(o.ID)] = true
				}
			}
			for _, o := range sg.Dropped {
				delete(members, strings.ToLower(o.ID))
				delete(nested, strings.ToLower(o.ID))
			}
		}
		if page.NextLink != "" {
			link = page.NextLink
			continue
		}
		p.DeltaLink = page.DeltaLink
		break
	}
	if full && !seen && p.SourceDeletedAt.IsZero() && (p.TargetGroupID != "" || p.SourceName != "") {
		// A full round lists every live group the filter names.
		p.SourceDeletedAt = now
	}
	p.Members, p.Nested = sortedKeys(members), sortedKeys(nested)
	return nil
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
