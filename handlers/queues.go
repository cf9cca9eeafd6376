package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
)

func deltaPull(d Deps) http.Handler {
	return queueHandler(d, FuncDeltaPull, galsync.QueuePulls, func(ctx context.Context, msg funcproto.ServiceBusMessage, invocationID string) (string, error) {
		req, err := galsync.DecodePullRequest(msg.Body)
		if err != nil {
			return "", err
		}
		if req.Mode == galsync.PullLifecycle {
			return d.actOnLifecycle(ctx, *req.Lifecycle)
		}
		if req.Mode == galsync.PullGroups {
			return runGroups(ctx, d, req, invocationID)
		}
		if req.Mode == galsync.PullSweep {
			res, err := d.Sweeper.Sweep(ctx, req, invocationID)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("swept %s: %d page(s), %d guest(s) read: %d drifted, %d missing, %d conflict(s); finished=%t continued=%t",
				req.Direction, res.Pages, res.Read, res.Drifted, res.Missing, res.Conflicts, res.Finished, res.Continued), nil
		}
		if err := d.Pulls.Hold(ctx, req); err != nil {
			return "", fmt.Errorf("pull %s: waiting for its window to close: %w", req.Direction, err)
		}
		res, err := d.Puller.Pull(ctx, req, invocationID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("pulled %s: %d page(s), %d user(s): %d invite, %d update, %d deprovision, %d unchanged, %d skipped; finished=%t paused=%t blocked=%t resynced=%t continued=%t superseded=%t sweep=%t",
			req.Direction, res.Pages, res.Users, res.Invites, res.Updates, res.Deprovisions, res.Unchanged, res.Skipped,
			res.RoundFinished, res.Paused, res.Blocked, res.Resynced, res.Continued, res.Superseded, res.SweepRequested), nil
	})
}

// runGroups brings a direction's mirrored groups up to date. Group sync
// rides on the pulls queue (a pull request of mode groups, as the sweep
// does) rather than a function of its own: it is a short, per-direction
// run like a pull, and it needs no new queue, binding or route.
func runGroups(ctx context.Context, d Deps, req galsync.PullRequest, invocationID string) (string, error) {
	if d.Groups == nil {
		return "", galsync.Permanent(fmt.Errorf("groups %s: this deployment does not run mirrored groups", req.Direction))
	}
	res, err := d.Groups.Run(ctx, req, invocationID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("groups %s: %d group(s): %d made, %d member(s) added, %d removed in %d request(s), %d failed, %d unchanged",
		req.Direction, res.Groups, res.Created, res.Added, res.Removed, res.Requests, res.Failed, res.Unchanged), nil
}

type workFunc func(ctx context.Context, item galsync.WorkItem, invocationID string) (pipeline.Outcome, error)

func inviteWorker(d Deps) http.Handler {
	return workHandler(d, FuncInviteWorker, galsync.QueueInvites, d.Inviter.Handle)
}

func updateWorker(d Deps) http.Handler {
	return workHandler(d, FuncUpdateWorker, galsync.QueueUpdates, d.Updater.Handle)
}

// workHandler runs a worker on one work item and sends on what it hands
// to the other worker.
func workHandler(d Deps, function, queueName string, handle workFunc) http.Handler {
	return queueHandler(d, function, queueName, func(ctx context.Context, msg funcproto.ServiceBusMessage, invocationID string) (string, error) {
		item, err := galsync.DecodeWorkItem(msg.Body)
		if err != nil {
			return "", err
		}
		out, err := handle(ctx, item, invocationID)
		if err == nil && out.HandOff != nil {
			err = pipeline.SendHandOff(ctx, d.Queue, out.HandOff)
		}
		if err != nil {
			return "", fmt.Errorf("%s user %s seq %d: %w", item.Direction, item.SourceUserID, item.Seq, err)
		}
		return fmt.Sprintf("%s user %s seq %d: %s %s", item.Direction, item.SourceUserID, item.Seq, out.Action, out.Reason), nil
	})
}
