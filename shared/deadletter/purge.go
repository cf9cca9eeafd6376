package deadletter

import (
	"context"

	"github.com/galsync/galsync/shared/queue"
)

// PurgeOptions are Purge's options.
type PurgeOptions struct {
	Options
	// DryRun reports what Purge would remove, and removes nothing.
	DryRun bool
}

// Purge removes the selected dead letters for good.
func Purge(ctx context.Context, q PurgeQueue, o PurgeOptions) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	r := Report{DryRun: o.DryRun, Items: []Item{}}
	err := scan(ctx, q, o.Options, func(l Letter) bool {
		if o.Limit > 0 && len(r.Items) == o.Limit {
			return false
		}
		it := Item{Letter: l, Outcome: Pending}
		if o.DryRun {
			it.Outcome = WouldPurge
		}
		r.Items = append(r.Items, it)
		return true
	})
	if err != nil || o.DryRun {
		return r, err
	}
	return r, settle(ctx, q, o.Options, OpPurge, &r, func(ctx context.Context, _ string, ds []queue.Delivery) (map[int64]bool, error) {
		return completeAll(ctx, q, ds)
	}, Purged)
}
