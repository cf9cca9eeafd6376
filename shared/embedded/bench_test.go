package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

const benchWorkers = 8

// BenchmarkSendReceiveComplete: 8 workers each send a message, receive one
// and complete it, with fsync on. One op is one message through all three
// steps.
func BenchmarkSendReceiveComplete(b *testing.B) {
	db := open(b, embedded.Options{Queues: allQueues(queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 10, DuplicateDetectionWindow: 10 * time.Minute})})
	runWorkers(b, db, func(ctx context.Context, i int64) error {
		if err := db.Send(ctx, galsync.QueueInvites, msg(fmt.Sprintf("m-%d", i))); err != nil {
			return err
		}
		ds, err := db.Receive(ctx, galsync.QueueInvites, 1, 5*time.Second)
		if err != nil || len(ds) == 0 {
			return fmt.Errorf("receive: %d, %v", len(ds), err)
		}
		return db.Complete(ctx, ds[0])
	})
}

// runWorkers runs op b.N times over benchWorkers goroutines and reports
// messages per second and commits (fsyncs) per message.
func runWorkers(b *testing.B, db *embedded.DB, op func(ctx context.Context, i int64) error) {
	ctx := b.Context()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	commits := embedded.Commits(db)
	cpu := processCPU(b)
	b.ResetTimer()
	start := time.Now()
	for range benchWorkers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if err := op(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu = processCPU(b) - cpu
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(embedded.Commits(db)-commits)/float64(b.N), "commits/msg")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

// processCPU is the CPU time this process has used (user and system: an
// fsync's work is the kernel's).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWorkerStep is one invite-worker step per message: receive, read
// and write the link, append to the log, hand on to updates and complete;
// five commits' worth of writes, 8 workers, fsync on.
func BenchmarkWorkerStep(b *testing.B) {
	db := open(b, embedded.Options{Queues: allQueues(queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 10})})
	ctx := b.Context()
	for i := 0; i < b.N; i += 500 {
		batch := make([]queue.Message, 0, 500)
		for j := i; j < min(i+500, b.N); j++ {
			batch = append(batch, msg(fmt.Sprintf("u-%d", j)))
		}
		must(b, db.Send(ctx, galsync.QueueInvites, batch...))
	}
	runWorkers(b, db, func(ctx context.Context, _ int64) error {
		ds, err := db.Receive(ctx, galsync.QueueInvites, 1, 5*time.Second)
		if err != nil || len(ds) == 0 {
			return fmt.Errorf("receive: %d, %v", len(ds), err)
		}
		user := ds[0].ID
		if _, err := db.GetLink(ctx, "a-to-b", user); !errors.Is(err, galsync.ErrNotFound) {
			return err
		}
		if _, err := db.PutLink(ctx, galsync.Link{Direction: "a-to-b", SourceUserID: user, State: galsync.LinkActive}); err != nil {
			return err
		}
		if err := db.AppendLog(ctx, galsync.LogEntry{Direction: "a-to-b", SourceUserID: user, Action: galsync.ActionInvite}); err != nil {
			return err
		}
		if err := db.Send(ctx, galsync.QueueUpdates, msg(user)); err != nil {
			return err
		}
		return db.Complete(ctx, ds[0])
	})
}

// BenchmarkQueryLog queries a 100,000-entry log for one user's entries (an
// index walk) and for one action (a walk of the whole log), for contrast.
func BenchmarkQueryLog(b *testing.B) {
	db := open(b, embedded.WithoutSync(embedded.Options{}))
	ctx := b.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for chunk := range 100 {
		entries := make([]galsync.LogEntry, 1000)
		for i := range entries {
			n := chunk*1000 + i
			entries[i] = galsync.LogEntry{Time: start.Add(time.Duration(n) * time.Second), Direction: fmt.Sprintf("d%d", n%4),
				SourceUserID: fmt.Sprintf("user-%04d", n%1000), Action: galsync.ActionUpdate, Outcome: galsync.OutcomeSuccess}
		}
		must(b, db.AppendLog(ctx, entries...))
	}
	for _, tc := range []struct {
		name string
		q    galsync.LogQuery
		want int
	}{
		{"user", galsync.LogQuery{Direction: "d1", SourceUserID: "user-0421"}, 100},
		{"action", galsync.LogQuery{Action: galsync.ActionInvite}, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				got, err := db.QueryLog(ctx, tc.q)
				if err != nil || len(got) != tc.want {
					b.Fatalf("query: %d entries, %v; want %d", len(got), err, tc.want)
				}
			}
		})
	}
}
