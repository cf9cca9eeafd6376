package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
)

// pagedLister serves pages empty pages of target users and fails the
// failOn-th read (1 for the first) with err.
type pagedLister struct {
	pages, failOn, calls int
	err                  error
}

func (l *pagedLister) ListUsers(_ context.Context, _, link string, _ []string) ([]galsync.TargetUser, string, error) {
	l.calls++
	if l.calls == l.failOn {
		return nil, "", l.err
	}
	page, _ := strconv.Atoi(strings.TrimPrefix(link, "page:"))
	if page+1 >= l.pages {
		return nil, "", nil
	}
	return nil, fmt.Sprintf("page:%d", page+1), nil
}

// A sweep that fails on page 3 of 5 is answered 2xx (the host completes
// the message) and rescheduled from page 3: the Retrier settles the
// sweep's continuation in place of the message it was given.
func TestSweepFailureIsRescheduledFromItsPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deps.Sweeper.Graph = &pagedLister{pages: 5, failOn: 3, err: galsync.RetryAfter(errors.New("graph: 503 Service Unavailable"), 0)}
	m, err := pipeline.SweepMessage(dirSource, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Send(context.Background(), galsync.QueuePulls, m); err != nil {
		t.Fatal(err)
	}
	d, ok := e.receivePull(time.Second)
	if !ok {
		t.Fatal("no sweep message")
	}
	resp := e.deliver(FuncDeltaPull, d)
	if !strings.Contains(fmt.Sprint(resp.Logs), "retry 1") {
		t.Fatalf("answer logs %v, want a retry", resp.Logs)
	}
	ps := e.pulls()
	if len(ps) != 1 || ps[0].Sweep == nil || ps[0].Sweep.Page != 2 || ps[0].Sweep.Link != "page:2" {
		t.Fatalf("pulls = %+v, want the sweep rescheduled from its third page", ps)
	}
}
