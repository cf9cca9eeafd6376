package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"regexp"
	"strconv"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// RetryPolicy says how long transient failures are retried and how far
// apart. Service Bus redelivers an abandoned message at once, so a failure
// that must wait out its cause (replication delay, 429, an outage) is not
// abandoned: the message is completed and a copy is sent again, scheduled
// for later, with exponential backoff and jitter and never earlier than
// what the cause asked for (Retry-After). Once the retries have lasted
// Budget, the copy is parked for an operator instead.
type RetryPolicy struct {
	Budget   time.Duration
	MinDelay time.Duration
	MaxDelay time.Duration
}

// DefaultRetryPolicy retries for a day, from 2 s up to 15 min apart.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Budget: 24 * time.Hour, MinDelay: 2 * time.Second, MaxDelay: 15 * time.Minute}
}

// Delay is the wait before attempt (1 for the first retry): MinDelay
// doubled per attempt up to MaxDelay, jittered into its upper half, and at
// least after. jitter is in [0, 1).
func (p RetryPolicy) Delay(attempt int, after time.Duration, jitter float64) time.Duration {
	d := p.MinDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	d = d/2 + time.Duration(jitter*float64(d/2))
	return max(d, after)
}

// Settlement is what became of a failed message.
type Settlement struct {
	// Parked: set aside for an operator (permanent failure, or retries
	// that outlasted the budget); else rescheduled after Delay.
	Parked bool
	// Deferred: put off for a budget, not failed.
	Deferred bool
	Delay    time.Duration
	Attempt  int
	Reason   string
}

func (s Settlement) String() string {
	if s.Parked {
		return "parked: " + s.Reason
	}
	if s.Deferred {
		return fmt.Sprintf("put off %s for the tenant's Graph budget", s.Delay.Round(time.Millisecond))
	}
	return fmt.Sprintf("retry %d in %s: %s", s.Attempt, s.Delay.Round(time.Millisecond), s.Reason)
}

// LogAppender writes the provisioning log.
type LogAppender interface {
	AppendLog(ctx context.Context, entries ...galsync.LogEntry) error
}

// Retrier settles the messages whose handling failed: a transient failure
// is rescheduled, a permanent one (or one retried past the budget) parked
// in galsync.QueueParked with its reason, where `galsync dlq` lists and
// replays it. Either way the original message can then be completed: a
// custom handler cannot dead-letter the message the Functions host gave
// it, and an abandon would spend its deliveries within a second.
type Retrier struct {
	Queue queue.Sender
	Log   LogAppender
	// Policy: the zero policy is DefaultRetryPolicy (a zero budget would
	// park every transient failure at once).
	Policy RetryPolicy
	Now    galsync.Clock
	// Jitter returns a number in [0, 1); nil uses math/rand/v2.
	Jitter func() float64
	// Metrics counts retries and parked messages; nil: none.
	Metrics Metrics
	Logger  *slog.Logger
}

// Fail settles m, delivered from queueName, after cause. An error means
// the message could not be rescheduled or parked; the caller then answers
// the host with a failure so that the broker keeps the message.
func (r *Retrier) Fail(ctx context.Context, queueName string, m queue.Message, cause error, invocationID string) (Settlement, error) {
	m = resumed(m, cause)
	if galsync.IsDeferred(cause) {
		return r.putOff(ctx, queueName, m, cause)
	}
	now := r.Now()
	attempt, since := retryState(m.Properties, now)
	attempt++
	s := Settlement{Attempt: attempt, Reason: cause.Error()}
	switch {
	case galsync.IsPermanent(cause):
		s.Parked = true
	case now.Sub(since) >= r.policy().Budget:
		s.Parked = true
		s.Reason = fmt.Sprintf("retried for %s (%d attempts), the retry budget; last error: %s",
			now.Sub(since).Round(time.Second), attempt, cause)
	}
	props := maps.Clone(m.Properties)
	if props == nil {
		props = map[string]string{}
	}
	props[queue.PropLastError] = truncate(cause.Error(), 1024)
	next := m
	next.Properties = props
	if s.Parked {
		props[queue.PropParkedFrom], props[queue.PropParkedReason] = queueName, truncate(s.Reason, 1024)
		next.ID, next.ScheduledAt = queue.FitID(baseID(m.ID)+"/parked"), time.Time{}
		if err := r.Queue.Send(ctx, galsync.QueueParked, next); err != nil {
			return s, fmt.Errorf("park message %s: %w", m.ID, err)
		}
		code := reasonCode(cause)
		if !galsync.IsPermanent(cause) {
			code = "retry_budget"
		}
		metricsOr(r.Metrics).Parked(ctx, m.Properties[queue.PropDirection], code)
	} else {
		after, _ := galsync.RetryDelay(cause)
		s.Delay = r.policy().Delay(attempt, after, r.jitter())
		props[queue.PropAttempt] = strconv.Itoa(attempt)
		props[queue.PropRetrySince] = since.UTC().Format(time.RFC3339Nano)
		next.ID = queue.FitID(baseID(m.ID) + "/r" + strconv.Itoa(attempt))
		next.ScheduledAt = now.Add(s.Delay)
		if err := r.Queue.Send(ctx, queueName, next); err != nil {
			return s, fmt.Errorf("reschedule message %s: %w", m.ID, err)
		}
		metricsOr(r.Metrics).RetryScheduled(ctx, queueName, reasonCode(cause))
	}
	r.record(ctx, m, s, invocationID, now)
	return s, nil
}

// ResumeError is a failure after progress: Next is the message that takes
// the work up where it stood, and the Retrier settles it (retried, put off
// or parked) in place of the message that failed, so that the work does
// not start over. The sweep, which keeps its cursor in its messages rather
// than in the store, fails so.
type ResumeError struct {
	Next queue.Message
	Err  error
}

func (e *ResumeError) Error() string { return e.Err.Error() }
func (e *ResumeError) Unwrap() error { return e.Err }

// resumed is the message to settle for m after cause: m, or the message a
// ResumeError in cause names, with m's retry state (attempts, deferrals,
// the first failure's time), so the retries still add up to the budget.
func resumed(m queue.Message, cause error) queue.Message {
	var re *ResumeError
	if !errors.As(cause, &re) {
		return m
	}
	next := re.Next
	props := maps.Clone(m.Properties)
	if props == nil {
		props = map[string]string{}
	}
	maps.Copy(props, next.Properties)
	next.Properties = props
	if next.CorrelationID == "" {
		next.CorrelationID = m.CorrelationID
	}
	return next
}

// putOff sends m again for when the budget it waits for has room. Nothing
// failed: the attempts and the retry budget are left as they were, and the
// provisioning log records nothing. No jitter is added: the pacer has
// already spread the work it puts off over the refill, each piece the
// refill of its units after the one before (pace.Tenant.Wait), and jitter
// of up to a tenth of the delay brought the last users of a run back late.
func (r *Retrier) putOff(ctx context.Context, queueName string, m queue.Message, cause error) (Settlement, error) {
	after, _ := galsync.RetryDelay(cause)
	after = max(after, 100*time.Millisecond)
	deferrals, _ := strconv.Atoi(m.Properties[queue.PropDeferrals])
	next := m
	next.Properties = maps.Clone(m.Properties)
	if next.Properties == nil {
		next.Properties = map[string]string{}
	}
	next.Properties[queue.PropDeferrals] = strconv.Itoa(deferrals + 1)
	next.ID = queue.FitID(baseID(m.ID) + "/d" + strconv.Itoa(deferrals+1))
	next.ScheduledAt = r.Now().Add(after)
	if err := r.Queue.Send(ctx, queueName, next); err != nil {
		return Settlement{}, fmt.Errorf("put off message %s: %w", m.ID, err)
	}
	metricsOr(r.Metrics).RetryScheduled(ctx, queueName, "budget")
	return Settlement{Deferred: true, Delay: after, Reason: cause.Error()}, nil
}

// record writes what became of a work item's failure to the provisioning
// log: a park for the operator, a retry for the record of the user.
func (r *Retrier) record(ctx context.Context, m queue.Message, s Settlement, invocationID string, now time.Time) {
	dir, src := m.Properties[queue.PropDirection], m.Properties[queue.PropSourceUser]
	if src == "" || r.Log == nil {
		return
	}
	e := galsync.LogEntry{Time: now, Direction: dir, SourceUserID: src, Action: actionOfSubject(m.Subject),
		Outcome: galsync.OutcomeFailed, Reason: s.String(), InvocationID: invocationID}
	if s.Parked {
		e.Action = galsync.ActionPark
	}
	if seq, err := strconv.ParseInt(m.Properties[queue.PropSeq], 10, 64); err == nil {
		e.Seq = seq
	}
	if err := r.Log.AppendLog(ctx, e); err != nil {
		r.Logger.Error("could not write the provisioning log", "direction", dir, "sourceUser", src, "err", err)
	}
}

func actionOfSubject(kind string) string {
	if kind == galsync.WorkDeprovision {
		return galsync.ActionDisable
	}
	return galsync.ActionUpdate
}

func (r *Retrier) policy() RetryPolicy {
	if r.Policy == (RetryPolicy{}) {
		return DefaultRetryPolicy()
	}
	return r.Policy
}

func (r *Retrier) jitter() float64 {
	if r.Jitter != nil {
		return r.Jitter()
	}
	return rand.Float64()
}

// retryState reads the attempts a message has had and when its first
// failure was (now for a first failure).
func retryState(props map[string]string, now time.Time) (int, time.Time) {
	attempt, err := strconv.Atoi(props[queue.PropAttempt])
	if err != nil || attempt < 0 {
		attempt = 0
	}
	since, err := time.Parse(time.RFC3339Nano, props[queue.PropRetrySince])
	if err != nil || since.After(now) {
		since = now
	}
	return attempt, since
}

// retrySuffix matches the tags a message id gains as it is retried or
// parked, so that a retry of a retry does not grow the id.
var retrySuffix = regexp.MustCompile(`(/r[0-9]+|/d[0-9]+|/parked)$`)

func baseID(id string) string { return retrySuffix.ReplaceAllString(id, "") }

// reasonCode is a short, bounded label for a failure (a metric label must
// not carry free text): its kind.
func reasonCode(err error) string {
	var re *galsync.RefusedError
	switch {
	case errors.As(err, &re):
		return "refused"
	case galsync.IsPermanent(err):
		return "permanent"
	case errors.Is(err, galsync.ErrNotFound):
		return "not_found"
	}
	if after, ok := galsync.RetryDelay(err); ok && after > 0 {
		return "retry_after"
	}
	return "transient"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// errClaimHeld: another worker is writing to this guest; the message is
// tried again shortly rather than waiting in a worker.
var errClaimHeld = errors.New("another worker is writing to this guest")
