package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
)

func deltaPull(d Deps) http.Handler {
	return queueHandler(d.Logger, FuncDeltaPull, func(r *http.Request, body []byte, invocationID string) (string, error) {
		req, err := galsync.DecodePullRequest(body)
		if err != nil {
			return "", err
		}
		if err := holdUntil(r.Context(), req.NotBefore, d.Now(), d.notifyWindow()); err != nil {
			return "", fmt.Errorf("pull %s: waiting for its window to close: %w", req.Direction, err)
		}
		res, err := d.Puller.Pull(r.Context(), req, invocationID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("pulled %s: %d page(s), %d user(s): %d invite, %d update, %d deprovision, %d skipped; finished=%t paused=%t blocked=%t resynced=%t continued=%t superseded=%t",
			req.Direction, res.Pages, res.Users, res.Invites, res.Updates, res.Deprovisions, res.Skipped,
			res.RoundFinished, res.Paused, res.Blocked, res.Resynced, res.Continued, res.Superseded), nil
	})
}

// holdUntil waits until notBefore, the end of the coalescing window the
// pull request stands for: a request folded into it later was dropped as
// a duplicate, and the pull that runs must cover it. The wait is bounded
// by max: windows longer than that (the timer's) are coalesced best
// effort, which their own periodic ticks make good.
func holdUntil(ctx context.Context, notBefore, now time.Time, max time.Duration) error {
	wait := min(notBefore.Sub(now), max)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type workFunc func(ctx context.Context, item galsync.WorkItem, invocationID string) (pipeline.Outcome, error)

func inviteWorker(d Deps) http.Handler { return workHandler(d, FuncInviteWorker, d.Inviter.Handle) }
func updateWorker(d Deps) http.Handler { return workHandler(d, FuncUpdateWorker, d.Updater.Handle) }

func workHandler(d Deps, function string, handle workFunc) http.Handler {
	return queueHandler(d.Logger, function, func(r *http.Request, body []byte, invocationID string) (string, error) {
		item, err := galsync.DecodeWorkItem(body)
		if err != nil {
			return "", err
		}
		out, err := handle(r.Context(), item, invocationID)
		if err != nil {
			return "", fmt.Errorf("%s user %s seq %d: %w", item.Direction, item.SourceUserID, item.Seq, err)
		}
		return fmt.Sprintf("%s user %s seq %d: %s %s", item.Direction, item.SourceUserID, item.Seq, out.Action, out.Reason), nil
	})
}
